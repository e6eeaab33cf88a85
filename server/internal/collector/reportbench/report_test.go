// Package reportbench measures reporting: what counting in the run file
// costs the program's calls (against reporting off and a hand-written
// memo), the worst call while the disk is busy, how fast the collector
// reads run files, and how long after a program's exit its final counts
// are in the store. See docs/benchmarks.md.
package reportbench

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/baseline"
	"github.com/cachelens/cachelens/internal/cputime"
	"github.com/cachelens/cachelens/internal/testmodule"
	"github.com/cachelens/cachelens/server/internal/collector"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/wire"
)

func tempDir(b *testing.B, parent string) string {
	d, err := os.MkdirTemp(parent, "clb")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(d, 0o700)
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func startCollector(b *testing.B, runs string) (*collector.Collector, *store.Store) {
	s := store.New()
	c, err := collector.Listen(collector.Config{Socket: filepath.Join(tempDir(b, ""), "s.sock"), Runs: runs, Store: s})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, s
}

// BenchmarkHitReporting: the hit path with reporting off, with the
// counters in a run file a live collector reads (on tmpfs, the default
// runs directory), and the hand-written memo.
func BenchmarkHitReporting(b *testing.B) {
	b.Run("reporting=off", func(b *testing.B) {
		baseline.MeasureHit(b, cacheruntime.Func2(baseline.Compute, cacheruntime.NoReport()))
	})
	b.Run("reporting=on", func(b *testing.B) {
		runs := tempDir(b, "/dev/shm")
		c, _ := startCollector(b, runs)
		rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket(), Runs: runs})
		b.Cleanup(func() { rep.Close() })
		f := cacheruntime.Func2(baseline.Compute, cacheruntime.WithReporter(rep))
		f(1, "x")
		rep.Flush()
		if rep.RunFile() == "" || rep.Connected() != 1 {
			b.Fatalf("no run file (%q) or not connected (%d)", rep.RunFile(), rep.Connected())
		}
		baseline.MeasureHit(b, f)
	})
	b.Run("reporting=memo", func(b *testing.B) { baseline.MeasureHit(b, baseline.HandMemo()) })
}

// BenchmarkWorstCallUnderDiskLoad: the slowest of a million calls (10 %
// misses) while dd writes 2 GB to /tmp (a disk here), with reporting off,
// with the run file on tmpfs (the default), and with the run file on the
// busy disk (the hsperfdata pitfall the default avoids). Reports the worst
// call and the 99.99th percentile.
func BenchmarkWorstCallUnderDiskLoad(b *testing.B) {
	measure := func(b *testing.B, f func(int, string) baseline.Small) {
		stop := make(chan struct{})
		var dd sync.WaitGroup
		dd.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				out := filepath.Join(os.TempDir(), "clb-dd")
				exec.Command("dd", "if=/dev/zero", "of="+out, "bs=1M", "count=2048", "conv=fsync").Run()
				os.Remove(out)
			}
		})
		time.Sleep(300 * time.Millisecond) // the disk is busy
		lat := make([]time.Duration, 0, 1_000_000)
		ct := cputime.Start()
		for i := 0; b.Loop(); i++ {
			lat = lat[:0]
			for j := range 1_000_000 {
				key := j % 1000
				if j%10 == 0 {
					key = i*1_000_000 + j // a miss
				}
				t0 := time.Now()
				f(key, "k")
				lat = append(lat, time.Since(t0))
			}
		}
		ct.Report(b)
		close(stop)
		dd.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "worst-µs")
		b.ReportMetric(float64(lat[len(lat)*9999/10000].Microseconds()), "p99.99-µs")
	}
	opts := func(rep *cacheruntime.Reporter) []cacheruntime.Option {
		return []cacheruntime.Option{cacheruntime.WithReporter(rep), cacheruntime.MaxEntries(100_000)}
	}
	b.Run("runfile=off", func(b *testing.B) {
		measure(b, cacheruntime.Func2(baseline.Compute, cacheruntime.NoReport(), cacheruntime.MaxEntries(100_000)))
	})
	b.Run("runfile=tmpfs", func(b *testing.B) {
		rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: tempDir(b, "/dev/shm"), Socket: "/nonexistent"})
		b.Cleanup(func() { rep.Close() })
		measure(b, cacheruntime.Func2(baseline.Compute, opts(rep)...))
	})
	b.Run("runfile=disk", func(b *testing.B) {
		rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: tempDir(b, os.TempDir()), Socket: "/nonexistent"})
		b.Cleanup(func() { rep.Close() })
		measure(b, cacheruntime.Func2(baseline.Compute, opts(rep)...))
	})
}

// BenchmarkReadRun: the collector's cost to read and parse one run file of
// 100 cached functions called from 1,000 sites, per read (a running
// program's file is read every 100 ms).
func BenchmarkReadRun(b *testing.B) {
	runs := tempDir(b, "/dev/shm")
	mod := tempDir(b, "")
	var src strings.Builder
	src.WriteString("package main\n\nimport \"github.com/cachelens/cachelens/cacheruntime\"\n\n")
	src.WriteString("var fs = []func(int) int{\n")
	for range 100 {
		src.WriteString("\tcacheruntime.Func1(func(x int) int { return x }),\n")
	}
	src.WriteString("}\n\nfunc main() {\n")
	for i := range 1000 {
		src.WriteString("\tfs[" + strconv.Itoa(i%100) + "](" + strconv.Itoa(i) + ")\n")
	}
	src.WriteString("}\n")
	testmodule.Write(b, mod, "example.com/many", map[string]string{"many.go": src.String()})
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs, wire.EnvSocket+"=/nonexistent")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	entries, _ := os.ReadDir(runs)
	if len(entries) != 1 {
		b.Fatalf("%d run files", len(entries))
	}
	data, err := os.ReadFile(filepath.Join(runs, entries[0].Name()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ct := cputime.Start()
	for b.Loop() {
		r, err := wire.ParseRun(data)
		if err != nil || len(r.Sites) != 1000 {
			b.Fatalf("%v, %d sites", err, len(r.Sites))
		}
	}
	ct.Report(b)
}

// BenchmarkExitToCounts: time from a program's exit (os.Exit right after
// its last call, never connected) to its final counts in the store of a
// collector that was running all along; reports the median and worst.
func BenchmarkExitToCounts(b *testing.B) {
	bin := filepath.Join(tempDir(b, ""), "exits")
	build := exec.Command("go", "build", "-o", bin, "./testdata/exits")
	build.Dir = testmodule.Root(b)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	runs := tempDir(b, "/dev/shm")
	_, s := startCollector(b, runs)
	var waits []time.Duration
	for i := 0; b.Loop(); i++ {
		cmd := exec.Command(bin, "-mode", "exit", "-calls", "1000")
		cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs, wire.EnvSocket+"=/nonexistent")
		stdout, _ := cmd.StdoutPipe()
		cmd.Start()
		bufio.NewReader(stdout).ReadString('\n')
		cmd.Wait()
		exited := time.Now()
		pid := cmd.Process.Pid
		for {
			done := false
			for _, p := range s.Snapshot().Processes {
				if p.Key.PID == pid && !p.Connected {
					done = true
				}
			}
			if done {
				break
			}
			if time.Since(exited) > 10*time.Second {
				b.Fatal("the run never showed as ended")
			}
			time.Sleep(time.Millisecond)
		}
		waits = append(waits, time.Since(exited))
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(waits[len(waits)-1].Milliseconds()), "worst-ms")
}
