package cacheruntime

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestLRUClockAfterContention: a bounded cache ticks its use clock on
// every hit while hits come one at a time (exact LRU: TestLRUModel), and
// only on insertions once two hits contended for it. Hits then write
// neither the clock nor an entry already stamped since the latest
// insertion, and eviction takes an entry not used since the oldest
// insertion; among entries last used after the same insertion, the one
// that insertion made goes first.
func TestLRUClockAfterContention(t *testing.T) {
	var h Handle
	var computed atomic.Int64
	f := Func1(func(k int) int { computed.Add(1); return k }, MaxEntries(4), NoReport(), WithHandle(&h))
	for k := range 4 {
		f(k)
	}
	l := &h.c.Load().lru

	for range 100 { // goroutines one after another
		done := make(chan struct{})
		go func() { defer close(done); f(1) }()
		<-done
	}
	if l.approx.Load() {
		t.Fatal("hits one at a time made the clock approximate")
	}

	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !l.approx.Load() && time.Now().Before(deadline); i++ {
				f((i + g) % 4)
			}
		})
	}
	wg.Wait()
	if !l.approx.Load() {
		t.Fatal("two goroutines hitting at once never contended for the clock")
	}

	t0 := l.tick.Load()
	for range 1000 {
		f(2)
		f(3)
	}
	if got := l.tick.Load(); got != t0 {
		t.Fatalf("hits after contention moved the clock from %d to %d", t0, got)
	}

	// Four insertions replace 0–3; then 10 and 12 are used after the
	// latest one (13's).
	for _, k := range []int{10, 11, 12, 13} {
		f(k)
	}
	f(10)
	f(12)
	miss := func(k int) bool {
		before := computed.Load()
		f(k)
		return computed.Load() != before
	}
	if !miss(14) {
		t.Fatal("14 was cached before it was called")
	}
	// 11, last used at its insertion, older than every other: evicted.
	// Bringing it back evicts 13: last used at its own insertion, which
	// 10 and 12 were used after.
	if !miss(11) {
		t.Fatal("the entry not used since the oldest insertion was kept")
	}
	for _, k := range []int{10, 12, 14} {
		if miss(k) {
			t.Fatalf("%d, used after 13's insertion or inserted after it, was evicted", k)
		}
	}
	if !miss(13) {
		t.Fatal("13, unused since its insertion, was kept over entries used after it")
	}
}

// TestLRUClockOwnsItsLine: the use clock, written by insertions (and by
// every hit until hits contend), shares no cache line with the fields
// every hit reads (off, approx) nor with those insertions write under the
// lock — wherever the cache holding the list starts.
func TestLRUClockOwnsItsLine(t *testing.T) {
	var l lruOrder
	tick := unsafe.Offsetof(l.tick)
	before := max(unsafe.Offsetof(l.off)+unsafe.Sizeof(l.off), unsafe.Offsetof(l.approx)+unsafe.Sizeof(l.approx))
	if tick-before < 56 {
		t.Errorf("the clock is %d bytes after the fields hits read; want 56 or more", tick-before)
	}
	if after := unsafe.Offsetof(l.mu) - (tick + unsafe.Sizeof(l.tick)); after < 56 {
		t.Errorf("the lock is %d bytes after the clock; want 56 or more", after)
	}
}
