package cacheruntime

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestContendedStripesCountExactly: every goroutine's token starts on
// stripe 0, so goroutines running at once collide there; the compare-and-swap notices,
// tokens move apart, and no count is lost or doubled.
func TestContendedStripesCountExactly(t *testing.T) {
	var stripes [nStripes]counters
	var moved atomic.Int64
	var wg sync.WaitGroup
	const workers, calls = 8, 50_000
	for range workers {
		wg.Go(func() {
			tok := new(stripeToken) // stripe 0, like every new token here
			for range calls {
				if tok.count(func(i int) *atomic.Int64 { return &stripes[i].hits }) != 0 {
					moved.Add(1)
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for i := range stripes {
		total += stripes[i].hits.Load()
	}
	if total != workers*calls {
		t.Errorf("%d counted, want %d", total, workers*calls)
	}
	t.Logf("%d of %d counts moved off stripe 0", moved.Load(), workers*calls)
}
