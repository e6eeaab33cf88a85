package wire_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/wire"
)

// realRun returns the bytes of a run file written by cacheruntime: a
// program with caches, sites, miss reasons, a hash error and a mutation.
func realRun(t testing.TB) []byte {
	t.Helper()
	dir, err := os.MkdirTemp("", "clrun")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: dir, Socket: dir + "/none.sock"})
	defer rep.Close()
	sq := cacheruntime.Func1(func(x int) int { return x * x }, cacheruntime.WithReporter(rep), cacheruntime.TTL(time.Hour), cacheruntime.MaxEntries(10))
	for i := range 100 {
		sq(i % 7)
	}
	fn := cacheruntime.Func1(func(f func()) int { return 1 }, cacheruntime.WithReporter(rep))
	fn(func() {})
	items := cacheruntime.Func1(func(k int) []int { return []int{k} }, cacheruntime.WithReporter(rep))
	items(1)[0] = 2
	items(1)
	// Two persisted caches: one stores its results, one cannot.
	kept := cacheruntime.Func1(func(k int) string { return "v" }, cacheruntime.WithReporter(rep), cacheruntime.PersistDir(dir))
	kept(1)
	kept(2)
	notKept := cacheruntime.Func1(func(k int) func() { return nil }, cacheruntime.WithReporter(rep), cacheruntime.PersistDir(dir))
	notKept(1)
	b, err := os.ReadFile(rep.RunFile())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseRun: a run file written by cacheruntime parses into exactly
// what the program counted.
func TestParseRun(t *testing.T) {
	r, err := wire.ParseRun(realRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.PID != os.Getpid() || r.Program == nil || r.Program.GoVersion != runtime.Version() {
		t.Fatalf("run %+v program %+v", r, r.Program)
	}
	var hits, misses, uncached int64
	for _, s := range r.Sites {
		hits, misses, uncached = hits+s.Hits, misses+s.Misses, uncached+s.Uncached
	}
	// sq: 7 misses 93 hits; fn: 1 uncached; items: 2 misses; kept: 2
	// misses; notKept: 1 miss.
	if hits != 93 || misses != 12 || uncached != 1 {
		t.Errorf("sites sum to %d hits, %d misses, %d uncached", hits, misses, uncached)
	}
	if len(r.Tiers) != 2 || len(r.StoreErrs) != 1 || r.StoreErrs[0].Tier != "disk" || !strings.Contains(r.StoreErrs[0].Message, "not persisted: func() cannot be encoded") || r.StoreErrs[0].Count != 1 {
		t.Errorf("tiers %+v, store errors %+v", r.Tiers, r.StoreErrs)
	}
	for _, tr := range r.Tiers {
		c := tr.Counters
		if tr.Tier != "disk" || !strings.Contains(tr.Location, "clrun") || !strings.Contains(tr.Basis, "run_test.go") || r.Defs[tr.Def] == nil {
			t.Errorf("tier %+v", tr)
		}
		if w := c[wire.TierWrites]; !(w == 2 && c[wire.TierErrors] == 0 && c[wire.TierMisses] == 2) && !(w == 0 && c[wire.TierErrors] == 1 && c[wire.TierMisses] == 1) {
			t.Errorf("tier counters %v", c)
		}
	}
	if len(r.Defs) != 5 || len(r.HashErrs) != 1 || len(r.Muts) != 1 || r.Muts[0].Path != "[0]" {
		t.Errorf("defs %d, hash errors %+v, mutations %+v", len(r.Defs), r.HashErrs, r.Muts)
	}
	for _, d := range r.Defs {
		if d.TTL == time.Hour && (d.MaxEntries != 10 || d.Counters[wire.CtrComputes] != 7 || d.Counters[wire.CtrEntries] != 7) {
			t.Errorf("def %+v", d)
		}
	}
	if len(r.Sources) == 0 || !r.Sources[0].Verified {
		t.Errorf("sources %+v", r.Sources)
	}
}

// TestParseRunDamaged: damage at any byte of a run file yields an error or
// less data, never a panic.
func TestParseRunDamaged(t *testing.T) {
	good := realRun(t)
	for cut := 0; cut < 4096; cut += 7 {
		wire.ParseRun(good[:cut])
	}
	for i := 0; i < 4096; i++ {
		b := bytes.Clone(good[:8192])
		b[i] ^= 0xff
		wire.ParseRun(b)
	}
	if _, err := wire.ParseRun(good[:wire.RunHeaderSize-1]); err == nil {
		t.Error("a truncated header parsed")
	}
	bad := bytes.Clone(good)
	binary.LittleEndian.PutUint32(bad[8:], 99)
	if _, err := wire.ParseRun(bad); err == nil {
		t.Error("version 99 parsed")
	}
}

// FuzzParseRun: arbitrary bytes never panic the run-file parser, never
// make it allocate much more than the input's size, and every record it
// returns was in the input.
func FuzzParseRun(f *testing.F) {
	good := realRun(f)
	f.Add(good[:wire.RunChunkSize])
	f.Add(good[:wire.RunHeaderSize+64])
	f.Add([]byte(wire.RunMagic))
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, b []byte) {
		// Measuring allocation stops the world: one input in 64.
		measure := n.Add(1)%64 == 0
		var before, after runtime.MemStats
		if measure {
			runtime.ReadMemStats(&before)
		}
		r, err := wire.ParseRun(b)
		if measure {
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(b)+1<<20) {
				t.Fatalf("parsing %d bytes allocated %d", len(b), grew)
			}
		}
		if r == nil && err == nil {
			t.Fatal("no run and no error")
		}
		if r != nil && len(r.Defs)+len(r.Sites)+len(r.Reasons)+len(r.HashErrs)+len(r.Muts)+len(r.Sources) > len(b)/8 {
			t.Fatal("more records than the input can hold")
		}
	})
}
