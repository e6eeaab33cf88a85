// Package baseline is what the benchmarks measure cacheruntime against
// and with: a small result type, the function that computes it, and the
// hand-written memo a Go programmer would write instead of a cache.
package baseline

import (
	"sync"
	"testing"

	"github.com/cachelens/cachelens/internal/cputime"
)

// Small is a small result: a few words, one of them a string.
type Small struct {
	ID    int
	Name  string
	Score int
}

// Compute is the function the benchmarks cache: trivial, so that what is
// measured is the cache.
func Compute(id int, name string) Small { return Small{id, name, id * 3} }

type memoKey struct {
	id   int
	name string
}

// HandMemo is the baseline: Compute memoized in a map behind an RWMutex.
func HandMemo() func(int, string) Small {
	var mu sync.RWMutex
	m := map[memoKey]Small{}
	return func(id int, name string) Small {
		mu.RLock()
		r, ok := m[memoKey{id, name}]
		mu.RUnlock()
		if ok {
			return r
		}
		r = Compute(id, name)
		mu.Lock()
		m[memoKey{id, name}] = r
		mu.Unlock()
		return r
	}
}

// MeasureHit measures f's hit: one call fills it, then every iteration
// calls it with the same arguments; allocations and process CPU time per
// call are reported.
func MeasureHit(b *testing.B, f func(int, string) Small) {
	f(42, "hello world")
	b.ReportAllocs()
	ct := cputime.Start()
	for b.Loop() {
		f(42, "hello world")
	}
	ct.Report(b)
}
