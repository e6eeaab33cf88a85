package store_test

import (
	"testing"
	"time"

	"github.com/cachelens/cachelens/server/store"
	"github.com/cachelens/cachelens/wire"
)

func hello(pid int) *wire.Hello {
	return &wire.Hello{Proto: wire.Version, PID: pid, Program: "/bin/prog", Start: time.Unix(int64(pid), 0)}
}

// feed applies the messages of one program: a definition with two sites.
func feed(s *store.Session, hitsA, missesA, hitsB int64) {
	s.Apply(&wire.Def{ID: 1, File: "/w/main.go", Line: 10, Name: "main.load"})
	s.Apply(&wire.Site{ID: 100, Def: 1, File: "/w/main.go", Line: 20, Func: "main.main"})
	s.Apply(&wire.Site{ID: 101, Def: 1, File: "/w/util.go", Line: 5, Func: "main.util"})
	s.Apply(&wire.Stats{Sites: []wire.SiteCounts{{Site: 100, Hits: hitsA, Misses: missesA}, {Site: 101, Hits: hitsB}},
		Defs: []wire.DefCounts{{Def: 1, Computes: missesA, ComputeNs: missesA * 1000, Entries: 2, Bytes: 64}}})
	s.Apply(&wire.Miss{Site: 100, Kind: "first", Text: "first call with these arguments", Count: missesA})
	s.Apply(&wire.HashErr{Def: 1, Site: 101, Text: "arg 1 (main.T).F: func() cannot be hashed", Count: 1})
	s.Apply(&wire.Mutation{Def: 1, Recv: 100, Detect: 101, Path: ".X", Count: 1})
}

func TestAggregation(t *testing.T) {
	s := store.New()
	a, b := s.Hello(hello(1)), s.Hello(hello(2))
	feed(a, 5, 2, 1)
	feed(b, 3, 1, 0)
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
	// A disconnected process keeps its counts but no longer holds entries.
	b.Close()
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 9 || d.Entries != 2 {
		t.Fatalf("after close %+v", d)
	}
	s.Forget()
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 6 || len(d.Processes) != 1 {
		t.Fatalf("after forget %+v", d)
	}
	s.Reset()
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 0 || len(d.Sites) != 2 || len(d.HashErrs) != 0 {
		t.Fatalf("after reset %+v", d)
	}
}

// TestReconnect: a new connection of the same process replaces its counts,
// and the old connection's late messages are ignored.
func TestReconnect(t *testing.T) {
	s := store.New()
	old := s.Hello(hello(1))
	feed(old, 5, 2, 0)
	fresh := s.Hello(hello(1))
	feed(fresh, 7, 2, 0) // totals since the new connection began
	feed(old, 100, 100, 100)
	if d := s.Snapshot().Def("/w/main.go", 10); d.Hits != 7 || d.Misses != 2 {
		t.Fatalf("def %+v", d)
	}
}

func TestSubscribe(t *testing.T) {
	s := store.New()
	ch, cancel := s.Subscribe(50 * time.Millisecond)
	defer cancel()
	sess := s.Hello(hello(1))
	start := time.Now()
	for range 100 {
		feed(sess, 1, 0, 0)
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
	cancel()
	cancel()
}
