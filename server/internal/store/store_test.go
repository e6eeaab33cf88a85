package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/server/internal/store/storetest"
	"github.com/cachelens/cachelens/wire"
)

// program is one run of a program with a definition and two sites.
func program(pid int, start time.Time, exe string, hitsA, missesA, hitsB int64) *wire.Run {
	r := storetest.New(pid, start, exe)
	d := r.Def("/w/main.go", 10, "main.load", "func(string) int")
	r.Counter(d, wire.CtrComputes, missesA).Counter(d, wire.CtrComputeNs, missesA*1000).Counter(d, wire.CtrEntries, 2).Counter(d, wire.CtrBytes, 64)
	a := r.Site(d, "/w/main.go", 20, "main.main", hitsA, missesA, 0)
	b := r.Site(d, "/w/util.go", 5, "main.util", hitsB, 0, 0)
	r.Reason(a, "first", "first call with these arguments", missesA)
	r.HashErr(wire.RunHashErr{Def: d, Site: b, HashErrDesc: wire.HashErrDesc{Text: "arg 1 (main.T).F: func() cannot be hashed"}, Count: 1})
	r.Mutation(d, a, b, ".X", 1)
	return r.R
}

var t0 = time.Unix(1000, 0)

// TestAggregation: runs going at once are summed per definition and site;
// miss reasons, hash errors and mutations merge.
func TestAggregation(t *testing.T) {
	s := store.New()
	s.UpdateRun(program(1, t0, "/bin/prog", 5, 2, 1), true)
	s.UpdateRun(program(2, t0.Add(time.Hour), "/bin/prog", 3, 1, 0), true)
	snap := s.Snapshot()
	d := snap.Def("/w/main.go", 10)
	if d == nil {
		t.Fatal("no def")
	}
	if d.Hits != 9 || d.Misses != 3 || d.Computes != 3 || d.Entries != 4 || len(d.Processes) != 2 {
		t.Fatalf("def %+v", d)
	}
	if len(d.Sites) != 2 || d.Sites[0].Hits != 8 || d.Sites[0].Misses != 3 || d.Sites[1].Hits != 1 {
		t.Fatalf("sites %+v", d.Sites)
	}
	if r := d.Sites[0].Reasons; len(r) != 1 || r[0].Count != 3 {
		t.Fatalf("reasons %+v", r)
	}
	if len(d.HashErrs) != 1 || d.HashErrs[0].Count != 2 || d.HashErrs[0].Site.Line != 5 {
		t.Fatalf("hash errors %+v", d.HashErrs)
	}
	if len(d.MutationLog) != 1 || d.MutationLog[0].Count != 2 || d.MutationLog[0].Recv.Line != 20 || d.MutationLog[0].Detect.Line != 5 {
		t.Fatalf("mutations %+v", d.MutationLog)
	}
	if got := snap.SitesIn("/w/util.go"); len(got) != 1 || got[0].Def != d {
		t.Fatalf("SitesIn %+v", got)
	}
	if len(snap.DefsIn("/w/main.go")) != 1 || len(snap.DefsIn("/w/other.go")) != 0 {
		t.Fatal("DefsIn")
	}
	// An update replaces a run's state: nothing is counted twice.
	s.UpdateRun(program(1, t0, "/bin/prog", 6, 2, 1), true)
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 10 {
		t.Fatalf("after an update: %d hits", d.Hits)
	}
	// A run that ended keeps its counts but no longer holds entries.
	s.UpdateRun(program(2, t0.Add(time.Hour), "/bin/prog", 3, 1, 0), false)
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 10 || d.Entries != 2 {
		t.Fatalf("after one ended: %+v", d)
	}
	s.Reset()
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 0 || d.Misses != 0 || len(d.HashErrs) != 0 || len(d.Sites[0].Reasons) != 0 {
		t.Fatalf("after Reset: %+v", d)
	}
	s.UpdateRun(program(1, t0, "/bin/prog", 9, 2, 1), true)
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 3 {
		t.Fatalf("after Reset and 3 more hits: %d hits", d.Hits)
	}
	s.Forget()
	if n := len(s.Snapshot().Processes); n != 1 {
		t.Fatalf("after Forget: %d runs", n)
	}
}

// TestTiers: the counters of the stores behind memory and their errors
// sum over runs and start again from zero after a Reset.
func TestTiers(t *testing.T) {
	run := func(pid int, hits, writes, errs int64) *wire.Run {
		r := storetest.New(pid, t0, "/bin/prog")
		d := r.Def("/w/main.go", 10, "main.load", "func(string) int")
		r.Site(d, "/w/main.go", 20, "main.main", hits+1, 1, 0)
		var c [wire.TierNCounter]int64
		c[wire.TierHits], c[wire.TierWrites], c[wire.TierWriteBytes], c[wire.TierErrors], c[wire.TierCodeChanged] = hits, writes, writes*100, errs, 1
		r.Tier(d, "disk", "/cache/k1-f1/a/b", c)
		r.StoreErr(d, "disk", "not persisted: x", errs)
		return r.R
	}
	s := store.New()
	s.UpdateRun(run(1, 3, 1, 2), true)
	s.UpdateRun(run(2, 4, 1, 1), true)
	d := s.Snapshot().Def("/w/main.go", 10)
	if len(d.Tiers) != 1 {
		t.Fatalf("tiers %+v", d.Tiers)
	}
	tr := d.Tiers[0]
	if tr.Name != "disk" || tr.Location != "/cache/k1-f1/a/b" || tr.Hits != 7 || tr.Writes != 2 || tr.WriteBytes != 200 || tr.Errors != 3 || tr.CodeChanged != 2 || tr.Basis == "" {
		t.Errorf("tier %+v", tr)
	}
	if len(d.StoreErrs) != 1 || d.StoreErrs[0].Count != 3 || d.StoreErrs[0].Message != "not persisted: x" {
		t.Errorf("store errors %+v", d.StoreErrs)
	}
	s.Reset()
	s.UpdateRun(run(1, 5, 1, 2), true)
	d = s.Snapshot().Def("/w/main.go", 10)
	if tr := d.Tiers[0]; tr.Hits != 2 || tr.Writes != 0 || tr.Errors != 0 {
		t.Errorf("after a reset and 2 more hits: %+v", tr)
	}
	if len(d.StoreErrs) != 0 {
		t.Errorf("store errors after a reset: %+v", d.StoreErrs)
	}
}

// TestWhichRunsCount: per program, the latest batch of runs and every run
// still going; other programs separately.
func TestWhichRunsCount(t *testing.T) {
	s := store.New()
	hits := func() int64 { return s.Snapshot().Def("/w/main.go", 10).Hits }
	// go run ., three times, one after another.
	s.UpdateRun(program(1, t0, "/tmp/go-build1/b001/exe/prog", 7, 3, 0), false)
	s.UpdateRun(program(2, t0.Add(time.Minute), "/tmp/go-build2/b001/exe/prog", 0, 1, 0), false)
	if got := hits(); got != 0 {
		t.Errorf("the latest run made 0 hits; the lens shows %d", got)
	}
	s.UpdateRun(program(3, t0.Add(2*time.Minute), "/tmp/go-build3/b001/exe/prog", 4, 1, 0), false)
	if got := hits(); got != 4 {
		t.Errorf("latest run: %d hits, want 4", got)
	}
	// A batch: 3 processes started within BatchGap of each other.
	for i := range 3 {
		s.UpdateRun(program(10+i, t0.Add(time.Hour+time.Duration(i)*time.Second), "/tmp/go-build9/b001/exe/prog", 5, 1, 0), false)
	}
	if got := hits(); got != 15 {
		t.Errorf("batch of 3: %d hits, want 15", got)
	}
	// A run still going counts with the latest batch; a test binary of the
	// same package is another program.
	s.UpdateRun(program(20, t0.Add(-time.Hour), "/usr/bin/prog", 100, 1, 0), true)
	s.UpdateRun(program(21, t0, "/tmp/go-build5/b001/prog.test", 1000, 1, 0), false)
	if got := hits(); got != 1115 {
		t.Errorf("batch + running + test binary: %d hits, want 1115", got)
	}
	shown := 0
	for _, p := range s.Snapshot().Processes {
		if p.Shown {
			shown++
		}
	}
	if shown != 5 {
		t.Errorf("%d runs shown, want 5", shown)
	}
}

// TestBounds: runs that ended long ago are forgotten, and the store keeps
// at most MaxRuns runs.
func TestBounds(t *testing.T) {
	s := store.New()
	for i := range store.MaxRuns + 50 {
		s.UpdateRun(program(i+1, t0.Add(time.Duration(i)*time.Minute), "/bin/p", 1, 1, 0), false)
	}
	if n := len(s.Snapshot().Processes); n > store.MaxRuns {
		t.Fatalf("%d runs kept", n)
	}
	live := program(99999, t0.Add(-time.Hour), "/bin/live", 1, 1, 0)
	s.UpdateRun(live, true)
	for i := range store.MaxRuns {
		s.UpdateRun(program(100000+i, t0.Add(time.Duration(i)*time.Second), "/bin/q", 1, 1, 0), false)
	}
	found := false
	for _, p := range s.Snapshot().Processes {
		found = found || p.Key.PID == 99999
	}
	if !found {
		t.Error("a running run was forgotten")
	}
}

// TestSubscribe: a burst of changes is coalesced into few notifications,
// the last at the store's version; an update that changes nothing notifies
// nobody.
func TestSubscribe(t *testing.T) {
	s := store.New()
	ch, cancel := s.Subscribe(50 * time.Millisecond)
	defer cancel()
	start := time.Now()
	for i := range 100 {
		s.UpdateRun(program(1, t0, "/bin/p", int64(i), 1, 0), true)
	}
	v := <-ch
	n := 1
	deadline := time.After(300 * time.Millisecond)
loop:
	for {
		select {
		case v2 := <-ch:
			if v2 <= v {
				t.Fatalf("version went from %d to %d", v, v2)
			}
			v = v2
			n++
		case <-deadline:
			break loop
		}
	}
	if n > 3 {
		t.Errorf("%d notifications for a burst of changes in %v; want them coalesced", n, time.Since(start))
	}
	if v != s.Version() {
		t.Errorf("last notification %d, store at %d", v, s.Version())
	}
	before := s.Version()
	s.UpdateRun(program(1, t0, "/bin/p", 99, 1, 0), true)
	if s.Version() != before {
		t.Error("an update that changed nothing changed the version")
	}
	cancel()
	cancel()
}

// TestDistinctBounded: when many runs each report their own distinct miss
// reasons, hash errors and mutations, a snapshot keeps MaxDistinct of each
// and counts the rest in one "more than are described" entry — nothing is
// lost from the totals, and the snapshot's size does not grow with them.
func TestDistinctBounded(t *testing.T) {
	s := store.New()
	const runs, per = store.MaxRuns, 32
	for i := range runs {
		r := storetest.New(i+1, t0.Add(time.Duration(i)*time.Millisecond), "/bin/flood")
		d := r.Def("/w/main.go", 10, "main.load", "func(string) int")
		a := r.Site(d, "/w/main.go", 20, "main.main", 0, per, 0)
		for j := range per {
			text := fmt.Sprintf("run %d reason %d", i, j)
			r.Reason(a, "args", text, 1)
			r.HashErr(wire.RunHashErr{Def: d, Site: a, HashErrDesc: wire.HashErrDesc{Text: text}, Count: 1})
			r.Mutation(d, a, a, text, 1)
		}
		s.UpdateRun(r.R, true)
	}
	d := s.Snapshot().Def("/w/main.go", 10)
	if d.Misses != runs*per {
		t.Fatalf("%d misses, want %d", d.Misses, runs*per)
	}
	check := func(what string, n int, counts []int64, other string, last string) {
		t.Helper()
		if n != store.MaxDistinct+1 {
			t.Errorf("%s: %d entries, want %d", what, n, store.MaxDistinct+1)
		}
		var sum int64
		for _, c := range counts {
			sum += c
		}
		if sum != runs*per {
			t.Errorf("%s: counts sum to %d, want %d", what, sum, runs*per)
		}
		if !strings.Contains(last, other) {
			t.Errorf("%s: the folded entry is %q", what, last)
		}
	}
	var counts []int64
	var otherText string
	for _, r := range d.Sites[0].Reasons {
		counts = append(counts, r.Count)
		if r.Count > 1 {
			otherText = r.Text
		}
	}
	check("reasons", len(d.Sites[0].Reasons), counts, "more distinct reasons", otherText)
	counts = nil
	for _, e := range d.HashErrs {
		counts = append(counts, e.Count)
	}
	check("hash errors", len(d.HashErrs), counts, "more distinct hash errors", d.HashErrs[0].Text)
	counts = nil
	for _, m := range d.MutationLog {
		counts = append(counts, m.Count)
	}
	check("mutations", len(d.MutationLog), counts, "more distinct mutations", d.MutationLog[0].Path)
}

// TestCountsArithmetic: Add and Sub are inverse, field by field (a field
// left out of either would show here).
func TestCountsArithmetic(t *testing.T) {
	c := store.Counts{Evictions: 1, Expired: 2, Mutations: 3, HashErrors: 4, ComputeNs: 5, Computes: 6, HashNs: 7, HashN: 8}
	o := store.Counts{Evictions: 10, Expired: 20, Mutations: 30, HashErrors: 40, ComputeNs: 50, Computes: 60, HashNs: 70, HashN: 80}
	if got := c.Add(o).Sub(o); got != c {
		t.Errorf("c + o - o = %+v, want %+v", got, c)
	}
	if got := c.Add(o); got != (store.Counts{11, 22, 33, 44, 55, 66, 77, 88}) {
		t.Errorf("c + o = %+v", got)
	}
	k := store.Calls{Hits: 1, Misses: 2, Uncached: 3}
	if got := k.Add(k).Sub(k); got != k {
		t.Errorf("calls: %+v", got)
	}
	if got := k.Add(store.Calls{Hits: 10, Misses: 20, Uncached: 30}); got != (store.Calls{11, 22, 33}) {
		t.Errorf("calls sum %+v", got)
	}
}
