// Package storebench measures the language server's insight store at its
// bounds: what a snapshot costs — every code lens, hover and diagnostic
// reads one — when the store holds as many runs as it keeps, each with
// its own distinct miss reasons and hash errors. See docs/benchmarks.md
// ("Reliability").
package storebench

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/cputime"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/server/internal/store/storetest"
	"github.com/cachelens/cachelens/wire"
)

var t0 = time.Unix(1_800_000_000, 0)

// floodRun is run i of a program like testdata/flood: one call site with
// 32 distinct miss reasons and 33 distinct hash errors of its own.
func floodRun(i int, hits int64) *wire.Run {
	r := storetest.New(i+1, t0.Add(time.Duration(i)*time.Millisecond), "/bin/flood")
	d := r.Def("/w/main.go", 10, "main.lookup", "func(map[string]any) int")
	a := r.Site(d, "/w/main.go", 20, "main.main", hits, 180, 20)
	for j := range 32 {
		r.Reason(a, "args", fmt.Sprintf("run %d: arg 1 [\"key%02d\"] changed", i, j), 1)
	}
	for j := range 33 {
		e := wire.RunHashErr{Def: d, Site: a, Count: 1}
		e.Text = fmt.Sprintf("run %d: handler%d: func() cannot be hashed", i, j) // set apart: compiles against older versions too (bench/ab.sh)
		r.HashErr(e)
	}
	return r.R
}

// BenchmarkSnapshotAtBounds: store.MaxRuns runs shown at once (a batch),
// one of which changed since the last snapshot.
func BenchmarkSnapshotAtBounds(b *testing.B) {
	s := store.New()
	for i := range store.MaxRuns {
		s.UpdateRun(floodRun(i, 0), true)
	}
	ct := cputime.Start()
	for i := 0; b.Loop(); i++ {
		s.UpdateRun(floodRun(0, int64(i+1)), true)
		s.Snapshot()
	}
	ct.Report(b)
}
