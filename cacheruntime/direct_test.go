package cacheruntime

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"
)

// closureHash is keyHash's first lane through the compiled functions.
func closureHash(c *cache, p unsafe.Pointer) uint64 {
	var h hstate
	h.init(c.keySet, false)
	c.keyC.fn(&h, p)
	a, _ := h.sum()
	return a
}

type plainPair struct {
	A int32
	B uint32
}

// TestDirectHashMatchesCompiled: keys of strings and plain memory are
// hashed and compared inline (hashDirect, eqDirect); the hash must be the
// one the compiled functions give, and equality theirs — the hash is stable across processes and versions, and
// persisted entries are found by it — for every length of string and
// size of plain memory.
func TestDirectHashMatchesCompiled(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		b := make([]byte, r.IntN(150))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return string(b)
	}
	// check compares the direct hash and equality of the tuple at p with
	// the compiled functions', p with cp (a copy of it) and with q (the
	// previous tuple of this shape: usually different, sometimes in one
	// field only; nil the first time).
	check := func(name string, h *Handle, p, cp, q unsafe.Pointer) {
		t.Helper()
		c := h.c.Load()
		if c.direct == nil {
			t.Fatalf("%s: keys not hashed directly", name)
		}
		if got, want := hashDirect(c.direct, p), closureHash(c, p); got != want {
			t.Fatalf("%s: direct hash %#x, compiled %#x", name, got, want)
		}
		for _, o := range []unsafe.Pointer{p, cp, q} {
			if o == nil {
				continue
			}
			if got, want := eqDirect(c.direct, p, o), c.eq(p, o); got != want {
				t.Fatalf("%s: direct equality %v, compiled %v", name, got, want)
			}
		}
	}
	var h1, h2, h3, h4 Handle
	Func2(func(int, string) int { return 0 }, NoReport(), WithHandle(&h1))
	Func1(func(string) int { return 0 }, NoReport(), WithHandle(&h2))
	Func3(func(int8, plainPair, [5]byte) int { return 0 }, NoReport(), WithHandle(&h3))
	Func3(func(string, bool, string) int { return 0 }, NoReport(), WithHandle(&h4))
	var p1 args2[int, string]
	var p2 args1[string]
	var p3 args3[int8, plainPair, [5]byte]
	var p4 args3[string, bool, string]
	for i := range 2000 {
		first := i == 0
		var arr [5]byte
		for i := range arr {
			arr[i] = byte(r.Uint32())
		}
		step(r, first, &p1, args2[int, string]{r.Int(), str()}, func(p, cp, q unsafe.Pointer) { check("(int, string)", &h1, p, cp, q) })
		step(r, first, &p2, args1[string]{str()}, func(p, cp, q unsafe.Pointer) { check("(string)", &h2, p, cp, q) })
		step(r, first, &p3, args3[int8, plainPair, [5]byte]{int8(r.Int()), plainPair{r.Int32(), r.Uint32()}, arr},
			func(p, cp, q unsafe.Pointer) { check("(int8, plainPair, [5]byte)", &h3, p, cp, q) })
		step(r, first, &p4, args3[string, bool, string]{str(), r.IntN(2) == 1, str()},
			func(p, cp, q unsafe.Pointer) { check("(string, bool, string)", &h4, p, cp, q) })
	}

	// Keys hashed some other way keep the compiled functions.
	var h5, h6 Handle
	Func1(func(float64) int { return 0 }, NoReport(), WithHandle(&h5))
	Func1(func(struct{ S string }) int { return 0 }, NoReport(), WithHandle(&h6))
	for _, h := range []*Handle{&h5, &h6} {
		if c := h.c.Load(); c.direct != nil {
			t.Errorf("%s: keys hashed directly, want the compiled functions", c.sig)
		}
	}
}

// step checks the next tuple of a shape: fresh values, but each field, by
// a coin flip, the previous tuple's (the two then differ in some fields,
// or in none); check gets the tuple, a copy of it and the previous one
// (nil the first time). The tuple becomes the previous one.
func step[T any](r *rand.Rand, first bool, prev *T, next T, check func(p, cp, q unsafe.Pointer)) {
	var q unsafe.Pointer
	if !first {
		nv, pv := reflect.ValueOf(&next).Elem(), reflect.ValueOf(prev).Elem()
		for i := range nv.NumField() {
			if r.IntN(2) == 0 {
				nv.Field(i).Set(pv.Field(i))
			}
		}
		q = unsafe.Pointer(prev)
	}
	cp := next
	check(unsafe.Pointer(&next), unsafe.Pointer(&cp), q)
	*prev = next
}
