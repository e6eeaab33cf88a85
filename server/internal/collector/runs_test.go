package collector

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/wire"
)

// TestFinalReadIsLast: a round's read of a connected run that races with
// the read its connection's end triggers never reaches the store after the
// final one — before reads were serialized, the run sometimes stayed
// "running" for good, and its counts were summed with every later batch.
func TestFinalReadIsLast(t *testing.T) {
	runs := t.TempDir()
	os.Chmod(runs, 0o700) // as a runs directory must be
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: filepath.Join(runs, "none.sock"), Runs: runs})
	defer rep.Close()
	f1 := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	for i := range 100 {
		f1(i % 7)
	}
	names, _ := filepath.Glob(filepath.Join(runs, "run-*.clrun"))
	if len(names) != 1 {
		t.Fatalf("run files %v", names)
	}
	var hdr [wire.RunHeaderSize]byte
	data, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	copy(hdr[:], data)
	h, err := wire.ParseRunHeader(hdr[:])
	if err != nil {
		t.Fatal(err)
	}
	runID := hex.EncodeToString(h.ID[:])
	for i := range 300 {
		st := store.New()
		w := newWatcher(t.TempDir(), st, func(string, ...any) {}, time.Hour)
		f, err := os.Open(names[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := w.attach(&wire.Hello{RunID: runID}, f); err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		r := w.runs[h.ID]
		w.mu.Unlock()
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 3 {
				w.read(r) // a round
			}
		})
		wg.Go(func() { w.detach(runID) })
		wg.Wait()
		if p := st.Snapshot().Processes; len(p) != 1 || p[0].Connected {
			t.Fatalf("round %d: after the connection's end the run is %+v", i, p)
		}
	}
}

// TestLogLimit: a flood of one kind of message logs a burst, then one per
// interval that counts those left out; other kinds are not held back.
func TestLogLimit(t *testing.T) {
	var lines []string
	l := newLogLimit(func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
	l.interval = 50 * time.Millisecond
	for i := range 1000 {
		l.printf("bad", "bad connection %d", i)
	}
	l.printf("other", "something else")
	if len(lines) != logBurst+1 || lines[logBurst] != "something else" {
		t.Fatalf("logged %d lines: %q", len(lines), lines)
	}
	time.Sleep(60 * time.Millisecond)
	l.printf("bad", "bad connection %d", 1000)
	if last := lines[len(lines)-1]; last != "bad connection 1000 (and 990 more like it not logged)" {
		t.Errorf("after the interval: %q", last)
	}
}
