// Command exits makes a known number of cached calls and then ends the way
// it is told to: by returning from main, os.Exit, a panic, log.Fatal, or by
// waiting to be killed. Tests of lossless reporting run it as a child
// process and compare the counts a language server sees with the counts
// below. It never calls cacheruntime.Flush.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Notifier struct {
	Channel string
	Send    func(string) error
}

var (
	square = cacheruntime.Func1(func(x int) int { return x * x })
	notify = cacheruntime.Func1(func(n Notifier) string { return n.Channel })
	items  = cacheruntime.Func1(func(k int) []int { return []int{k, k + 1} })
)

func main() {
	mode := flag.String("mode", "return", "how to end: return, exit, panic, fatal, kill")
	calls := flag.Int("calls", 1000, "calls to square")
	flag.Parse()
	for i := range *calls {
		square(i % 10) // 10 misses, calls-10 hits
	}
	notify(Notifier{Channel: "ops"}) // uncached: a hash error
	r := items(1)                    // a miss
	r[0] = 99                        // a mutation...
	items(1)                         // ...noticed here: recomputed (a miss)
	fmt.Println("calls done")
	switch *mode {
	case "exit":
		os.Exit(3)
	case "panic":
		panic("the program panics after its calls")
	case "fatal":
		log.Fatal("the program fails after its calls")
	case "kill":
		select {} // wait for SIGKILL
	}
}
