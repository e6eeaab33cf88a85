// Command loadgen makes a known number of cached calls and reports them,
// for the collector's tests: with -calls N it calls square(i % 10) N times
// at one site and cube(i % 5) N times at another, then exits (no Flush: the
// counts are in its run file as they happen).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cachelens/cachelens/cacheruntime"
)

var (
	square = cacheruntime.Func1(func(x int) int { return x * x })
	cube   = cacheruntime.Func1(func(x int) int { return x * x * x })
)

func main() {
	calls := flag.Int("calls", 100, "calls per site")
	flag.Parse()
	sum := 0
	for i := range *calls {
		sum += square(i % 10) // site A
	}
	for i := range *calls {
		sum += cube(i % 5) // site B
	}
	fmt.Fprintln(os.Stderr, "sum", sum)
}
