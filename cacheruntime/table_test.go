package cacheruntime_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

// TestLockFreeLookupsWhileGrowing: goroutines look keys up without locks
// while others insert (growing every shard's table many times) and forget
// them. Every call returns its own key's result, every key is computed
// exactly once while it stays cached, and the counts are exact.
func TestLockFreeLookupsWhileGrowing(t *testing.T) {
	const keys, workers = 20_000, 8
	var computes atomic.Int64
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(k int) int { computes.Add(1); return 2*k + 1 }, cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	var wg sync.WaitGroup
	var calls atomic.Int64
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for _, k := range r.Perm(keys) {
				for range 2 {
					if got := f(k); got != 2*k+1 {
						t.Errorf("f(%d) = %d", k, got)
						return
					}
					calls.Add(1)
				}
			}
		})
	}
	wg.Wait()
	s := h.Stats()
	if computes.Load() != keys || s.Misses != keys || s.Hits+s.Misses != calls.Load() || s.Entries != keys {
		t.Errorf("computes %d, stats %d hits + %d misses of %d calls, %d entries; want %d computes and misses",
			computes.Load(), s.Hits, s.Misses, calls.Load(), s.Entries, keys)
	}

	// Forgetting while others look up: each forgotten key is computed
	// again at most once per forget.
	var forgets atomic.Int64
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range 5_000 {
				k := r.IntN(keys)
				if w%2 == 0 {
					if ok, _ := h.Forget(k); ok {
						forgets.Add(1)
					}
				} else if got := f(k); got != 2*k+1 {
					t.Errorf("f(%d) = %d", k, got)
					return
				}
			}
		})
	}
	wg.Wait()
	if extra := computes.Load() - keys; extra > forgets.Load() {
		t.Errorf("%d computes after %d forgets", extra, forgets.Load())
	}
}

// TestStripedCountsExact: goroutines on every core hitting one key at one
// site contend for counter stripes (and move between them); no hit is
// lost or counted twice.
func TestStripedCountsExact(t *testing.T) {
	const workers, calls = 8, 100_000
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(k int) int { return k }, cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range calls {
				f(1)
			}
		})
	}
	wg.Wait()
	if s := h.Stats(); s.Hits+s.Misses != workers*calls || s.Misses != 1 {
		t.Errorf("%d hits + %d misses, want %d calls and 1 miss", s.Hits, s.Misses, workers*calls)
	}
}
