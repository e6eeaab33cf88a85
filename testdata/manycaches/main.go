// Command manycaches makes as many caches as -caches says, at one Func
// call, and calls each -calls times (one miss, the rest hits): a program
// with thousands of caches must report every call.
package main

import (
	"flag"
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

func main() {
	n := flag.Int("caches", 10000, "caches to make")
	calls := flag.Int("calls", 308, "calls per cache")
	flag.Parse()
	fs := make([]func(int) int, *n)
	for i := range fs {
		fs[i] = cacheruntime.Func1(func(x int) int { return x + i })
	}
	sum := 0
	for _, f := range fs {
		for range *calls {
			sum += f(1)
		}
	}
	fmt.Println(sum)
}
