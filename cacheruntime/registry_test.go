package cacheruntime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// AllStats lists every live cache with its counters, its package and its
// computations by duration; a cache nobody holds any more drops out.
func TestAllStats(t *testing.T) {
	find := func(name string) (cacheruntime.Stats, bool) {
		for _, s := range cacheruntime.AllStats() {
			if s.Name == name {
				return s, true
			}
		}
		return cacheruntime.Stats{}, false
	}
	f := cacheruntime.Func1(func(i int) int { time.Sleep(2 * time.Millisecond); return i }, cacheruntime.Name("registry-test"), cacheruntime.NoReport())
	f(1)
	f(1)
	f(2)
	s, ok := find("registry-test")
	if !ok {
		t.Fatal("the cache is not listed")
	}
	if s.Hits != 1 || s.Misses != 2 || s.Package != "github.com/cachelens/cachelens/cacheruntime_test" {
		t.Errorf("stats %+v", s)
	}
	// 2 ms computations: none within 1 ms, both within 5 ms, cumulative.
	if len(s.ComputeBuckets) != len(cacheruntime.ComputeBounds) || s.ComputeBuckets[1] != 0 || s.ComputeBuckets[2] != 2 || s.ComputeBuckets[len(s.ComputeBuckets)-1] != 2 {
		t.Errorf("buckets %v", s.ComputeBuckets)
	}
	runtime.KeepAlive(f)

	func() {
		g := cacheruntime.Func1(func(i int) int { return i }, cacheruntime.Name("registry-dropped"), cacheruntime.NoReport())
		g(1)
	}()
	for range 10 {
		runtime.GC()
		if _, ok := find("registry-dropped"); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("a cache nobody holds is still listed")
}
