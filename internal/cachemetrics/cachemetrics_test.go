package cachemetrics

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

func TestRelative(t *testing.T) {
	b := Build{Module: "github.com/acme/shop", root: "/src/checkout"}
	for file, want := range map[string]string{
		"github.com/acme/shop/cmd/api/main.go": "cmd/api/main.go", // -trimpath
		"/src/checkout/internal/x.go":          "internal/x.go",   // the module's directory
		"/build/shop/internal/y.go":            "internal/y.go",   // after the module path's last element
		"/usr/lib/go/src/net/http/server.go":   "/usr/lib/go/src/net/http/server.go",
	} {
		if got := b.Relative(file); got != want {
			t.Errorf("Relative(%s) = %q, want %q", file, got, want)
		}
	}
	if (Build{Version: "v1.2.3"}).Rev() != "v1.2.3" || (Build{Version: "v1", Revision: "abc"}).Rev() != "abc" {
		t.Error("Rev")
	}
}

func TestRead(t *testing.T) {
	name := fmt.Sprint("cachemetrics-read-", runs.Add(1)) // of this run's own (go test -count)
	f := cacheruntime.Func1(func(i int) int { time.Sleep(2 * time.Millisecond); return i }, cacheruntime.Name(name), cacheruntime.NoReport())
	for _, i := range []int{1, 1, 2} { // one call site
		f(i)
	}
	for _, c := range Read(ReadBuild(), 1) {
		if c.Labels[2] != name {
			continue
		}
		calls := map[string]int64{}
		for _, x := range c.Calls {
			calls[x.Result+"/"+x.Tier] = x.N
		}
		if calls["hit/memory"] != 1 || calls["miss/"] != 2 || c.Misses["first"] != 1 || c.Misses["args"] != 1 {
			t.Errorf("calls %v misses %v", calls, c.Misses)
		}
		if c.Labels[3] != "TestRead: f" || c.Labels[4] != "internal/cachemetrics/cachemetrics_test.go" || len(c.Labels) != len(LabelNames) {
			t.Errorf("labels %v", c.Labels)
		}
		if c.Computes != 2 || c.Buckets[1] != 0 || c.Buckets[len(c.Buckets)-1] != 2 || len(c.Bounds) != len(c.Buckets) {
			t.Errorf("computes %d, buckets %v over %v", c.Computes, c.Buckets, c.Bounds)
		}
		if len(c.Sites) != 1 || c.Sites[0].Hits != 1 {
			t.Errorf("sites %+v", c.Sites)
		}
		if Reason(cacheruntime.MissCodeChanged) != "codechanged" || Reason(0) != "other" {
			t.Error("Reason")
		}
		runtime.KeepAlive(f)
		return
	}
	runtime.KeepAlive(f) // caches are listed weakly
	t.Fatal("the cache is not read")
}

// Two caches made by the same Func call (one per call of a function)
// are one series: their counts add up.
func TestSameLabelsSummed(t *testing.T) {
	var keep []func(int) int
	name := fmt.Sprint("cachemetrics-twice-", runs.Add(1))
	for range 2 {
		f := cacheruntime.Func1(func(i int) int { return i }, cacheruntime.Name(name), cacheruntime.NoReport())
		f(1)
		f(1)
		keep = append(keep, f)
	}
	n := 0
	for _, c := range Read(ReadBuild(), 0) {
		if c.Labels[2] != name {
			continue
		}
		n++
		calls := map[string]int64{}
		for _, x := range c.Calls {
			calls[x.Result+"/"+x.Tier] = x.N
		}
		if calls["hit/memory"] != 2 || calls["miss/"] != 2 || c.Entries != 2 || c.Computes != 2 {
			t.Errorf("summed: calls %v entries %d computes %d", calls, c.Entries, c.Computes)
		}
	}
	if n != 1 {
		t.Errorf("%d series for one Func call", n)
	}
	runtime.KeepAlive(keep) // caches are listed weakly
}

var runs atomic.Int64
