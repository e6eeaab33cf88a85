package cachebench

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/baseline"
	"github.com/cachelens/cachelens/internal/cputime"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
)

type key struct {
	id   int
	name string
}

// bound is the size bound of the caches that have one (otter, golang-lru,
// and cacheruntime where the workload adds keys without end).
const bound = 1 << 20

// sizeIf is the size to ask impls for: bound, or 0 (unbounded) if not
// bounded.
func sizeIf(bounded bool) int {
	if bounded {
		return bound
	}
	return 0
}

// impls are the memoized forms of baseline.Compute under test. size is the
// bound asked for: 0 leaves cacheruntime unbounded (otter and golang-lru
// are bounded at bound then; the memo and sync.Map never are).
var impls = []struct {
	name string
	make func(size int) func(int, string) baseline.Small
}{
	{"memo", func(int) func(int, string) baseline.Small { return baseline.HandMemo() }},
	{"syncmap", func(int) func(int, string) baseline.Small {
		var m sync.Map
		return func(id int, name string) baseline.Small {
			if v, ok := m.Load(key{id, name}); ok {
				return v.(baseline.Small)
			}
			r := baseline.Compute(id, name)
			m.Store(key{id, name}, r)
			return r
		}
	}},
	{"otter", func(size int) func(int, string) baseline.Small {
		c := otter.Must(&otter.Options[key, baseline.Small]{MaximumSize: cmp.Or(size, bound)})
		return func(id int, name string) baseline.Small {
			if v, ok := c.GetIfPresent(key{id, name}); ok {
				return v
			}
			r := baseline.Compute(id, name)
			c.Set(key{id, name}, r)
			return r
		}
	}},
	{"golang-lru", func(size int) func(int, string) baseline.Small {
		c, _ := lru.New[key, baseline.Small](cmp.Or(size, bound))
		return func(id int, name string) baseline.Small {
			if v, ok := c.Get(key{id, name}); ok {
				return v
			}
			r := baseline.Compute(id, name)
			c.Add(key{id, name}, r)
			return r
		}
	}},
	{"Func2", func(size int) func(int, string) baseline.Small {
		opts := []cacheruntime.Option{cacheruntime.NoReport()}
		if size > 0 {
			opts = append(opts, cacheruntime.MaxEntries(size))
		}
		return cacheruntime.Func2(baseline.Compute, opts...)
	}},
}

var names = func() []string {
	s := make([]string, 10_000)
	for i := range s {
		s[i] = "item-" + strconv.Itoa(i)
	}
	return s
}()

// zipf is a sequence of key indexes over 10,000 keys, Zipf-distributed
// (s = 1.1: a few hot keys, a long tail).
var zipf = func() []int {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(names)-1))
	s := make([]int, 1<<16)
	for i := range s {
		s[i] = int(z.Uint64())
	}
	return s
}()

// each runs f on every cache, bounded at bound if bounded.
func each(b *testing.B, bounded bool, f func(b *testing.B, c func(int, string) baseline.Small)) {
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			c := im.make(sizeIf(bounded))
			b.ReportAllocs()
			ct := cputime.Start()
			f(b, c)
			ct.Report(b)
		})
	}
}

// BenchmarkHitOneKey: one goroutine calls with the same arguments.
func BenchmarkHitOneKey(b *testing.B) {
	each(b, false, func(b *testing.B, c func(int, string) baseline.Small) {
		c(42, names[42])
		for b.Loop() {
			c(42, names[42])
		}
	})
}

// BenchmarkHitOneKeyParallel: every core calls with the same arguments.
func BenchmarkHitOneKeyParallel(b *testing.B) {
	each(b, false, func(b *testing.B, c func(int, string) baseline.Small) {
		c(42, names[42])
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c(42, names[42])
			}
		})
	})
}

func prefill(c func(int, string) baseline.Small) {
	for i, n := range names {
		c(i, n)
	}
}

// BenchmarkHitZipf: one goroutine, Zipf over 10,000 cached keys.
func BenchmarkHitZipf(b *testing.B) {
	each(b, false, func(b *testing.B, c func(int, string) baseline.Small) {
		prefill(c)
		i := 0
		for b.Loop() {
			k := zipf[i&(len(zipf)-1)]
			c(k, names[k])
			i++
		}
	})
}

// BenchmarkHitZipfParallel: every core, Zipf over 10,000 cached keys.
func BenchmarkHitZipfParallel(b *testing.B) { hitZipfParallel(b, false, 1) }

// hitZipfParallel runs Zipf hits from parallelism goroutines per core.
func hitZipfParallel(b *testing.B, bounded bool, parallelism int) {
	each(b, bounded, func(b *testing.B, c func(int, string) baseline.Small) {
		prefill(c)
		var start atomic.Int64
		b.SetParallelism(parallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(start.Add(7919))
			for pb.Next() {
				k := zipf[i&(len(zipf)-1)]
				c(k, names[k])
				i++
			}
		})
	})
}

// BenchmarkHitZipfParallelBounded is BenchmarkHitZipfParallel with Func2
// bounded by MaxEntries, as otter and golang-lru are in every row (the
// bound is never reached): a hit then also records its use for eviction.
func BenchmarkHitZipfParallelBounded(b *testing.B) { hitZipfParallel(b, true, 1) }

// BenchmarkHitZipfManyGoroutines is BenchmarkHitZipfParallel with 64
// goroutines on the two cores, as in a server handling many requests at
// once: goroutines that share a counter stripe or a previous-call slot run
// at the same time, so a cache's steady state under contention is what is
// measured (cacheruntime counts hits by P there).
func BenchmarkHitZipfManyGoroutines(b *testing.B) { hitZipfParallel(b, false, 32) }

// BenchmarkMixParallel: every core; 90 % of calls Zipf over 10,000 cached
// keys, 10 % fresh keys (a miss and an insert each). Caches are bounded.
func BenchmarkMixParallel(b *testing.B) {
	each(b, true, func(b *testing.B, c func(int, string) baseline.Small) {
		prefill(c)
		var fresh atomic.Int64
		fresh.Store(1 << 40)
		var start atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(start.Add(7919))
			for pb.Next() {
				if i%10 == 0 {
					c(int(fresh.Add(1)), "fresh")
				} else {
					k := zipf[i&(len(zipf)-1)]
					c(k, names[k])
				}
				i++
			}
		})
	})
}

// BenchmarkEvictZipf: one goroutine, a cache bounded at 10,000 entries, keys
// Zipf-distributed over a million: hot keys hit, the tail misses, and
// every miss evicts. Besides CPU per call it reports the slowest call and
// the 99.9th percentile (each call is timed, which adds the same clock
// reads to every cache), since an eviction that walks the cache shows as a
// slow call, not in the mean.
func BenchmarkEvictZipf(b *testing.B) {
	const size = 10_000
	z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, 1_000_000)
	keys := make([]int, 1<<20)
	for i := range keys {
		keys[i] = int(z.Uint64())
	}
	for _, im := range impls {
		if im.name == "memo" || im.name == "syncmap" {
			continue // no bound
		}
		b.Run("impl="+im.name, func(b *testing.B) {
			c := im.make(size)
			for _, k := range keys[:1<<16] { // fill and settle
				c(k, names[k%len(names)])
			}
			lat := make([]time.Duration, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			ct := cputime.Start()
			for i := range b.N {
				k := keys[i&(len(keys)-1)]
				t0 := time.Now()
				c(k, names[k%len(names)])
				lat[i] = time.Since(t0)
			}
			ct.Report(b)
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "worst-µs")
			b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds()), "p99.9-ns")
		})
	}
}

// BenchmarkMiss: every call has fresh arguments: compute and insert.
func BenchmarkMiss(b *testing.B) {
	each(b, true, func(b *testing.B, c func(int, string) baseline.Small) {
		i := 0
		for b.Loop() {
			c(i, "miss")
			i++
		}
	})
}

// BenchmarkMemoryPerEntry: the live heap a cache holds for 100,000
// entries (int, string key → baseline.Small), per entry.
func BenchmarkMemoryPerEntry(b *testing.B) { memoryPerEntry(b, false) }

// BenchmarkMemoryPerEntryBounded is BenchmarkMemoryPerEntry with Func2
// bounded by MaxEntries (as otter and golang-lru are in both): an entry
// then also has its place in the eviction order.
func BenchmarkMemoryPerEntryBounded(b *testing.B) { memoryPerEntry(b, true) }

func memoryPerEntry(b *testing.B, bounded bool) {
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%06d", i)
	}
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			var perEntry float64
			for b.Loop() {
				before := liveHeap()
				c := im.make(sizeIf(bounded))
				for i, k := range keys {
					c(i, k)
				}
				perEntry = float64(liveHeap()-before) / n
				runtime.KeepAlive(c)
			}
			b.ReportMetric(perEntry, "B/entry")
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
