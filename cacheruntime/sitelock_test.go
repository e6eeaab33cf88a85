package cacheruntime_test

import (
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

var lockTestF func(int) int

// callLockTestF is one call site, whoever calls it (not inlined: an
// inlined copy would be a call site of its own, with a program counter
// the cache has not seen).
//
//go:noinline
func callLockTestF() int { return lockTestF(1) }

// TestFuncHitTakesNoSiteLock: a Func call from a call site seen before
// finds its site without the lock that classifies new program counters:
// with that lock held elsewhere, the call still completes.
func TestFuncHitTakesNoSiteLock(t *testing.T) {
	var h cacheruntime.Handle
	lockTestF = cacheruntime.Func(func(x int) int { return x + 1 }, cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	callLockTestF()
	release := cacheruntime.HoldSiteLock(&h)
	done := make(chan int)
	go func() { done <- callLockTestF() }()
	select {
	case v := <-done:
		if v != 2 {
			t.Errorf("f(1) = %d", v)
		}
	case <-time.After(10 * time.Second):
		t.Error("a hit from a known call site waited for the site table's lock")
	}
	release()
}
