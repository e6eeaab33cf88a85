// Command flood makes -calls cached calls that produce as many distinct
// miss reasons and hash errors as it can — each call changes another key
// of a 64-key map argument, and every tenth passes a map holding a func
// under a new key — then exits. Its keys start with -tag, so runs with
// different tags report different texts. The soak test runs thousands of
// them beside a language server and checks that every call is counted:
// of N calls, N/10 run uncached (a hash error each) and the rest miss.
package main

import (
	"flag"
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

var lookup = cacheruntime.Func1(func(m map[string]any) int { return len(m) })

func main() {
	calls := flag.Int("calls", 2000, "calls to make")
	tag := flag.String("tag", "", "prefix of the map keys")
	flag.Parse()
	m := map[string]any{}
	for i := range 64 {
		m[fmt.Sprintf("%skey%02d", *tag, i)] = 0
	}
	for i := range *calls {
		if i%10 == 9 {
			lookup(map[string]any{fmt.Sprintf("%shandler%d", *tag, i): func() {}}) // uncached: a distinct hash error
			continue
		}
		m[fmt.Sprintf("%skey%02d", *tag, i%64)] = i // a miss: "arg 1 ["keyNN"] changed"
		lookup(m)
	}
}
