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
	// Each computation's duration as the cache measures it lies between
	// the time inside the function and the time around the call.
	var inner, outer []time.Duration
	f := cacheruntime.Func1(func(i int) int {
		t0 := time.Now()
		time.Sleep(2 * time.Millisecond)
		inner = append(inner, time.Since(t0))
		return i
	}, cacheruntime.Name("registry-test"), cacheruntime.NoReport())
	for _, arg := range []int{1, 1, 2} {
		t0 := time.Now()
		misses := len(inner)
		f(arg)
		if len(inner) > misses {
			outer = append(outer, time.Since(t0))
		}
	}
	s, ok := find("registry-test")
	if !ok {
		t.Fatal("the cache is not listed")
	}
	if s.Hits != 1 || s.Misses != 2 || s.Package != "github.com/cachelens/cachelens/cacheruntime_test" {
		t.Errorf("stats %+v", s)
	}
	// Two computations of at least 2 ms, counted cumulatively: bucket i
	// holds those within ComputeBounds[i]. A loaded machine may stretch a
	// 2 ms sleep past 5 ms, so each bucket is checked against what the
	// test measured rather than against fixed counts.
	if len(s.ComputeBuckets) != len(cacheruntime.ComputeBounds) || s.ComputeBuckets[len(s.ComputeBuckets)-1] != 2 {
		t.Fatalf("buckets %v", s.ComputeBuckets)
	}
	within := func(ds []time.Duration, b time.Duration) (n int64) {
		for _, d := range ds {
			if d <= b {
				n++
			}
		}
		return n
	}
	for i, b := range cacheruntime.ComputeBounds {
		if got := s.ComputeBuckets[i]; got < within(outer, b) || got > within(inner, b) {
			t.Errorf("bucket ≤ %v holds %d computations; measured inside %v, around %v (buckets %v)", b, got, inner, outer, s.ComputeBuckets)
		}
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
