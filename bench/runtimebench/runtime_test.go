package runtimebench

import (
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/baseline"
	"github.com/cachelens/cachelens/internal/cputime"
	gohugo "github.com/gohugoio/hashstructure"
	clone "github.com/huandu/go-clone"
	hashstructure "github.com/mitchellh/hashstructure/v2"
	"github.com/zeebo/xxh3"
)

// BenchmarkHit: a hit on a function of (int, string) returning a baseline.Small
// struct.
func BenchmarkHit(b *testing.B) {
	b.Run("impl=memo", func(b *testing.B) { baseline.MeasureHit(b, baseline.HandMemo()) })
	b.Run("impl=Func2", func(b *testing.B) {
		baseline.MeasureHit(b, cacheruntime.Func2(baseline.Compute, cacheruntime.NoReport()))
	})
	b.Run("impl=Func", func(b *testing.B) {
		baseline.MeasureHit(b, cacheruntime.Func(baseline.Compute, cacheruntime.NoReport()))
	})
	// The floor of any cache behind reflect.MakeFunc, which is how Func
	// returns a function of any type: a function of the same type whose
	// body only returns a result made once — no hashing, no lookup, no
	// counting. What is left is reflect's own work per call (boxing the
	// arguments into a slice of Values, copying the results out).
	b.Run("impl=MakeFuncFloor", func(b *testing.B) {
		out := []reflect.Value{reflect.ValueOf(baseline.Compute(42, "hello world"))}
		var f func(int, string) baseline.Small
		reflect.ValueOf(&f).Elem().Set(reflect.MakeFunc(reflect.TypeOf(f), func([]reflect.Value) []reflect.Value { return out }))
		baseline.MeasureHit(b, f)
	})
}

// BenchmarkHitParallel is BenchmarkHit with every core calling.
func BenchmarkHitParallel(b *testing.B) {
	run := func(b *testing.B, f func(int, string) baseline.Small) {
		f(42, "hello world")
		b.ReportAllocs()
		ct := cputime.Start()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f(42, "hello world")
			}
		})
		ct.Report(b)
	}
	b.Run("impl=memo", func(b *testing.B) { run(b, baseline.HandMemo()) })
	b.Run("impl=Func2", func(b *testing.B) { run(b, cacheruntime.Func2(baseline.Compute, cacheruntime.NoReport())) })
}

var sink uint64

// BenchmarkHashStruct: structural hashing of Record.
func BenchmarkHashStruct(b *testing.B) {
	r := NewRecord()
	b.Run("impl=cacheruntime", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			k, err := cacheruntime.Hash(r)
			if err != nil {
				b.Fatal(err)
			}
			sink += k[0]
		}
		ct.Report(b)
	})
	b.Run("impl=reference", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			sink += ReferenceHash(r)
		}
		ct.Report(b)
	})
	b.Run("impl=hashstructure-v2", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			h, err := hashstructure.Hash(r, hashstructure.FormatV2, nil)
			if err != nil {
				b.Fatal(err)
			}
			sink += h
		}
		ct.Report(b)
	})
	b.Run("impl=gohugoio", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			h, err := gohugo.Hash(r, nil)
			if err != nil {
				b.Fatal(err)
			}
			sink += h
		}
		ct.Report(b)
	})
}

var seed = maphash.MakeSeed()

// BenchmarkFloatsResult: a cached function returning an 8 MB []float64.
// A hit re-hashes the result (the mutation check); maphash over the same
// bytes is the peer.
func BenchmarkFloatsResult(b *testing.B) {
	data := Floats()
	size := int64(len(data) * 8)
	b.Run("impl=maphash", func(b *testing.B) {
		b.SetBytes(size)
		ct := cputime.Start()
		for b.Loop() {
			sink += maphash.Bytes(seed, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), size))
		}
		ct.Report(b)
	})
	b.Run("op=hit/impl=cacheruntime", func(b *testing.B) {
		f := cacheruntime.Func1(func(int) []float64 { return data }, cacheruntime.NoReport())
		f(1)
		b.SetBytes(size)
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			f(1)
		}
		ct.Report(b)
	})
	b.Run("op=hash/impl=cacheruntime", func(b *testing.B) {
		b.SetBytes(size)
		ct := cputime.Start()
		for b.Loop() {
			k, _ := cacheruntime.Hash(data)
			sink += k[0]
		}
		ct.Report(b)
	})
}

// BenchmarkClone compares deep copies.
func BenchmarkClone(b *testing.B) {
	r := NewRecord()
	data := Floats()
	b.Run("value=struct/impl=cacheruntime", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			_ = cacheruntime.Clone(r)
		}
		ct.Report(b)
	})
	b.Run("value=struct/impl=go-clone", func(b *testing.B) {
		b.ReportAllocs()
		ct := cputime.Start()
		for b.Loop() {
			_ = clone.Clone(r).(Record)
		}
		ct.Report(b)
	})
	b.Run("value=floats/impl=cacheruntime", func(b *testing.B) {
		b.SetBytes(int64(len(data) * 8))
		ct := cputime.Start()
		for b.Loop() {
			_ = cacheruntime.Clone(data)
		}
		ct.Report(b)
	})
	b.Run("value=floats/impl=go-clone", func(b *testing.B) {
		b.SetBytes(int64(len(data) * 8))
		ct := cputime.Start()
		for b.Loop() {
			_ = clone.Clone(data).([]float64)
		}
		ct.Report(b)
	})
	b.Run("value=floats/impl=slices.Clone", func(b *testing.B) {
		b.SetBytes(int64(len(data) * 8))
		ct := cputime.Start()
		for b.Loop() {
			_ = slices.Clone(data)
		}
		ct.Report(b)
	})
}

type listNode struct {
	V    int
	Next *listNode
}

// BenchmarkHashDeep hashes n nodes three ways: as a linked list (a
// pointer hop per node, each an object of the walk), as the same nodes
// held by a slice of pointers (the same objects, no depth), and as a slice
// of the node values (no references at all).
func BenchmarkHashDeep(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000, 10_000_000} {
		if testing.Short() && n > 100_000 {
			continue
		}
		var head *listNode
		ptrs := make([]*listNode, n)
		vals := make([]listNode, n)
		for i := n - 1; i >= 0; i-- {
			head = &listNode{V: i, Next: head}
			ptrs[i] = &listNode{V: i}
			vals[i] = listNode{V: i}
		}
		run := func(b *testing.B, v any) {
			cacheruntime.Hash(v)
			b.ReportAllocs()
			ct := cputime.Start()
			for b.Loop() {
				k, err := cacheruntime.Hash(v)
				if err != nil {
					b.Fatal(err)
				}
				sink += k[0]
			}
			ct.Report(b)
		}
		b.Run(fmt.Sprintf("n=%d/shape=list", n), func(b *testing.B) { run(b, head) })
		b.Run(fmt.Sprintf("n=%d/shape=pointers", n), func(b *testing.B) { run(b, ptrs) })
		b.Run(fmt.Sprintf("n=%d/shape=values", n), func(b *testing.B) { run(b, vals) })
	}
}

// BenchmarkHashBig: the key hash of an 8 MB argument of each plain shape,
// beside hash/maphash (seeded, per process) and XXH3-128 (zeebo/xxh3, with
// its AVX2/AVX-512 code) over the same bytes. cacheruntime's hash is
// seedless and the same in every process; floats are hashed by value
// (-0 == +0, NaNs alike).
func BenchmarkHashBig(b *testing.B) {
	const n = 8 << 20
	bs := make([]byte, n)
	for i := range bs {
		bs[i] = byte(i*7 + i>>9)
	}
	ints := unsafe.Slice((*int64)(unsafe.Pointer(&bs[0])), n/8)
	str := string(bs)
	floats := Floats()[:n/8]
	for _, v := range []struct {
		shape string
		bytes []byte
		key   func() cacheruntime.Key
	}{
		{"bytes", bs, func() cacheruntime.Key { k, _ := cacheruntime.Hash(bs); return k }},
		{"int64s", bs, func() cacheruntime.Key { k, _ := cacheruntime.Hash(ints); return k }},
		{"string", bs, func() cacheruntime.Key { k, _ := cacheruntime.Hash(str); return k }},
		{"float64s", unsafe.Slice((*byte)(unsafe.Pointer(&floats[0])), n), func() cacheruntime.Key { k, _ := cacheruntime.Hash(floats); return k }},
	} {
		run := func(impl string, f func()) {
			b.Run("shape="+v.shape+"/impl="+impl, func(b *testing.B) {
				b.SetBytes(n)
				ct := cputime.Start()
				for b.Loop() {
					f()
				}
				ct.Report(b)
			})
		}
		run("cacheruntime", func() { sink += v.key()[0] })
		run("maphash", func() { sink += maphash.Bytes(seed, v.bytes) })
		run("xxh3", func() { sink += xxh3.Hash128(v.bytes).Lo })
	}
}
