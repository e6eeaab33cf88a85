// Package cputime reports the process CPU time a benchmark spends per
// operation beside its wall time: on a noisy shared machine, CPU time is
// what the code costs, wall time also what the neighbours cost.
package cputime

import (
	"testing"
	"time"
)

// A Timer measures process CPU time (user + system, all threads) from
// Start to Report.
type Timer struct {
	start time.Duration
}

// Start begins measuring. Call it right before the benchmark loop.
func Start() Timer { return Timer{start: now()} }

// Report adds the metric "cpu-ns/op" to b: the CPU time since Start
// divided by b.N. Call it right after the loop.
func (t Timer) Report(b *testing.B) {
	if b.N == 0 || t.start < 0 {
		return // nothing run, or no CPU clock on this platform
	}
	b.ReportMetric(float64(now()-t.start)/float64(b.N), "cpu-ns/op")
}
