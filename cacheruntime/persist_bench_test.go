package cacheruntime_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/cputime"
)

// The figures of Persist (docs/benchmarks.md): a disk hit against the
// computation it saves, a miss that writes, and the start of a process
// over a directory that already holds many entries.

var sizes = []int{1 << 10, 1 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}

// BenchmarkPersistDiskHit: every call misses in memory (MaxEntries(1) and
// two keys taking turns) and is answered from disk: read, check, decode.
func BenchmarkPersistDiskHit(b *testing.B) {
	for _, n := range sizes {
		b.Run(sizeName(n), func(b *testing.B) {
			dir := b.TempDir()
			f := cacheruntime.Func1(func(k int) []byte {
				v := make([]byte, n)
				v[0] = byte(k)
				return v
			}, cacheruntime.PersistDir(dir), cacheruntime.MaxEntries(1), cacheruntime.NoReport(), cacheruntime.AllowOutputMutation())
			f(0)
			f(1)
			b.SetBytes(int64(n))
			b.ResetTimer()
			ct := cputime.Start()
			for i := range b.N {
				if v := f(i & 1); v[0] != byte(i&1) {
					b.Fatal("wrong result")
				}
			}
			ct.Report(b)
		})
	}
}

// BenchmarkPersistRecompute is what a disk hit saves: the function of
// BenchmarkPersistDiskHit made to take 10 ms, uncached.
func BenchmarkPersistRecompute(b *testing.B) {
	for range b.N {
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkPersistMiss: a new key each call: compute (trivially), encode,
// write a temporary file, fsync, rename.
func BenchmarkPersistMiss(b *testing.B) {
	for _, n := range sizes {
		b.Run(sizeName(n), func(b *testing.B) {
			dir := b.TempDir()
			f := cacheruntime.Func1(func(k int) []byte { return make([]byte, n) },
				cacheruntime.PersistDir(dir), cacheruntime.MaxEntries(1), cacheruntime.NoReport(), cacheruntime.AllowOutputMutation())
			b.SetBytes(int64(n))
			ct := cputime.Start()
			for i := range b.N {
				f(i)
			}
			ct.Report(b)
		})
	}
}

// BenchmarkPersistColdStart: a new cache (as in a new process) over a
// directory holding 10,000 entries of its function: the first call
// fingerprints the function's code, opens its bucket and reads one entry
// from disk. (The directory's byte count is taken in the background.)
func BenchmarkPersistColdStart(b *testing.B) {
	dir := coldDir(b)
	b.ResetTimer()
	ct := cputime.Start()
	for i := range b.N {
		coldCache(dir)(i % 10000)
	}
	ct.Report(b)
}

func coldCache(dir string) func(int) []byte {
	return cacheruntime.Func1(func(k int) []byte { return make([]byte, 1024) }, cacheruntime.PersistDir(dir), cacheruntime.NoReport(), cacheruntime.AllowOutputMutation())
}

// coldDir makes the directory of BenchmarkPersistColdStart once per
// process (writing 10,000 entries takes seconds).
var coldDir = func() func(b *testing.B) string {
	var dir string
	return func(b *testing.B) string {
		if dir == "" {
			d, err := os.MkdirTemp("", "persist-cold")
			if err != nil {
				b.Fatal(err)
			}
			f := coldCache(d)
			for i := range 10000 {
				f(i)
			}
			dir = d
		}
		return dir
	}
}()

// BenchmarkPersistMemoryHit: a persisted cache's hit is a memory hit:
// the disk is not touched.
func BenchmarkPersistMemoryHit(b *testing.B) {
	for _, persist := range []bool{false, true} {
		b.Run(fmt.Sprint("persist=", persist), func(b *testing.B) {
			opts := []cacheruntime.Option{cacheruntime.NoReport()}
			if persist {
				opts = append(opts, cacheruntime.PersistDir(b.TempDir()))
			}
			f := cacheruntime.Func2(func(a int, s string) int { return a + len(s) }, opts...)
			f(1, "x")
			b.ResetTimer()
			for range b.N {
				f(1, "x")
			}
		})
	}
}
