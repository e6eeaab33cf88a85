package main

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for live, want := range map[uint64]int64{0: baseMemoryLimit, 100 << 20: baseMemoryLimit, 1 << 30: 3 << 29} {
		if got := memoryLimit(live); got != want {
			t.Errorf("memoryLimit(%d MiB) = %d MiB, want %d MiB", live>>20, got>>20, want>>20)
		}
	}
	before := debug.SetMemoryLimit(-1)
	stop := limitMemory()
	if got := debug.SetMemoryLimit(-1); got != baseMemoryLimit {
		t.Errorf("limit while serving: %d", got)
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after: %d, want %d", got, before)
	}
}
