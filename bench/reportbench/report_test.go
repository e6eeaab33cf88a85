// Package reportbench measures the runtime → server channel: what
// reporting costs the program, how fast the collector ingests, and how
// long a call takes to show up in the store. See docs/benchmarks.md.
package reportbench

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/server/collector"
	"github.com/cachelens/cachelens/server/store"
	"github.com/cachelens/cachelens/wire"
)

type small struct {
	ID    int
	Name  string
	Score int
}

func compute(id int, name string) small { return small{id, name, id * 3} }

func tempDir(b *testing.B) string {
	d, err := os.MkdirTemp("", "clb")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(d, 0o700)
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func startCollector(b *testing.B) (*collector.Collector, *store.Store) {
	s := store.New()
	c, err := collector.Listen(collector.Config{Socket: filepath.Join(tempDir(b), "s.sock"), Store: s})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, s
}

// BenchmarkHitReporting: the hit path with reporting off and with a
// reporter connected to a live collector.
func BenchmarkHitReporting(b *testing.B) {
	run := func(b *testing.B, rep *cacheruntime.Reporter, opts ...cacheruntime.Option) {
		f := cacheruntime.Func2(compute, opts...)
		f(42, "hello world")
		if rep != nil {
			rep.Flush() // connected before timing starts
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			f(42, "hello world")
		}
	}
	b.Run("reporting=off", func(b *testing.B) { run(b, nil, cacheruntime.NoReport()) })
	b.Run("reporting=on", func(b *testing.B) {
		c, _ := startCollector(b)
		rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket()})
		b.Cleanup(func() { rep.Close() })
		run(b, rep, cacheruntime.WithReporter(rep))
		if rep.Connected() != 1 {
			b.Fatalf("reporter not connected")
		}
	})
}

// workload is a program's worth of cached calls: mostly hits, some misses
// with new arguments, across four caches and several sites.
func workload(fs []func(int, string) small, n int) {
	for i := range n {
		f := fs[i%len(fs)]
		if i%10 == 0 {
			f(i, "miss") // a new key
		} else {
			f(i%7, "hit")
		}
	}
}

// BenchmarkSlowServer: the same workload with reporting off and with a
// server that accepts the connection and never reads it.
func BenchmarkSlowServer(b *testing.B) {
	mk := func(opts ...cacheruntime.Option) []func(int, string) small {
		var fs []func(int, string) small
		for range 4 {
			fs = append(fs, cacheruntime.Func2(compute, append(opts, cacheruntime.MaxEntries(1000))...))
		}
		return fs
	}
	b.Run("reporting=off", func(b *testing.B) {
		fs := mk(cacheruntime.NoReport())
		for b.Loop() {
			workload(fs, 10_000)
		}
	})
	b.Run("reporting=blackhole", func(b *testing.B) {
		sock := filepath.Join(tempDir(b), "hole.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var held []net.Conn
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
		b.Cleanup(func() {
			ln.Close()
			mu.Lock()
			for _, c := range held {
				c.Close()
			}
			mu.Unlock()
		})
		rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: sock, Interval: 10 * time.Millisecond})
		b.Cleanup(func() { rep.Close() })
		fs := mk(cacheruntime.WithReporter(rep))
		for b.Loop() {
			workload(fs, 10_000)
		}
	})
}

// BenchmarkCollectorIngest: frames of count deltas (32 sites each) written
// to a collector over its socket; reports events (site deltas) per second.
func BenchmarkCollectorIngest(b *testing.B) {
	c, s := startCollector(b)
	conn, err := net.Dial("unix", c.Socket())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var buf []byte
	buf, _ = wire.AppendFrame(buf, &wire.Hello{Proto: wire.Version, PID: 1, Start: time.Now()})
	buf, _ = wire.AppendFrame(buf, &wire.Def{ID: 1, File: "/w/main.go", Line: 1, Name: "main.f"})
	const sites = 32
	stats := &wire.Stats{}
	for i := range sites {
		buf, _ = wire.AppendFrame(buf, &wire.Site{ID: i + 1, Def: 1, File: "/w/main.go", Line: 10 + i})
		stats.Sites = append(stats.Sites, wire.SiteCounts{Site: i + 1, Hits: 3, Misses: 1})
	}
	conn.Write(buf)
	frame, _ := wire.AppendFrame(nil, stats)
	batch := make([]byte, 0, 64*len(frame))
	for range 64 {
		batch = append(batch, frame...)
	}
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n := min(64, b.N-sent)
		conn.Write(batch[:n*len(frame)])
		sent += n
	}
	want := int64(3 * sites * b.N)
	deadline := time.Now().Add(time.Minute)
	for {
		if d := s.Snapshot().Def("/w/main.go", 1); d != nil && d.Hits == want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("store lost counts")
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*sites)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCallToStore: time from a call in the program to its count in
// the store (reporter interval 100ms, the default).
func BenchmarkCallToStore(b *testing.B) {
	_, s := startCollectorSocket(b)
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: s.socket})
	b.Cleanup(func() { rep.Close() })
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(-1)
	for s.store.Version() == 0 {
		time.Sleep(time.Millisecond)
	}
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		f(i)
		for {
			snap := s.store.Snapshot()
			if len(snap.Defs) == 1 && snap.Defs[0].Misses == int64(i+2) {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}

type server struct {
	socket string
	store  *store.Store
}

func startCollectorSocket(b *testing.B) (*collector.Collector, server) {
	c, s := startCollector(b)
	return c, server{c.Socket(), s}
}
