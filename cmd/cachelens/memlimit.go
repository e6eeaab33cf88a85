package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory limit: the server's soft limit (runtime/debug.SetMemoryLimit) is
// baseMemoryLimit, or headroom times the live heap when that is larger —
// a large workspace needs more, and a limit below what is live would make
// the collector run without pause.
const (
	baseMemoryLimit = 384 << 20
	headroom        = 1.5
)

// memoryLimit returns the limit for a live heap of live bytes.
func memoryLimit(live uint64) int64 {
	return max(baseMemoryLimit, int64(float64(live)*headroom))
}

// limitMemory sets the soft memory limit and keeps it in step with the
// live heap until stop is called, which restores the limit it found.
func limitMemory() (stop func()) {
	old := debug.SetMemoryLimit(baseMemoryLimit)
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetMemoryLimit(memoryLimit(sample[0].Value.Uint64()))
			}
		}
	}()
	return func() {
		close(done)
		debug.SetMemoryLimit(old)
	}
}
