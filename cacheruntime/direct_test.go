package cacheruntime

import (
	"math/rand/v2"
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
		prev := func(q unsafe.Pointer) unsafe.Pointer {
			if first {
				return nil
			}
			return q
		}
		a1 := args2[int, string]{r.Int(), str()}
		// Each field, by a coin flip, the previous tuple's: the tuples
		// then differ in one field, or in none.
		if r.IntN(2) == 0 {
			a1.P0 = p1.P0
		}
		if r.IntN(2) == 0 {
			a1.P1 = p1.P1
		}
		c1 := a1
		check("(int, string)", &h1, unsafe.Pointer(&a1), unsafe.Pointer(&c1), prev(unsafe.Pointer(&p1)))
		p1 = a1
		a2 := args1[string]{str()}
		c2 := a2
		check("(string)", &h2, unsafe.Pointer(&a2), unsafe.Pointer(&c2), prev(unsafe.Pointer(&p2)))
		p2 = a2
		var arr [5]byte
		for i := range arr {
			arr[i] = byte(r.Uint32())
		}
		a3 := args3[int8, plainPair, [5]byte]{int8(r.Int()), plainPair{r.Int32(), r.Uint32()}, arr}
		if r.IntN(2) == 0 {
			a3.P0 = p3.P0
		}
		if r.IntN(2) == 0 {
			a3.P1 = p3.P1
		}
		if r.IntN(2) == 0 {
			a3.P2 = p3.P2
		}
		c3 := a3
		check("(int8, plainPair, [5]byte)", &h3, unsafe.Pointer(&a3), unsafe.Pointer(&c3), prev(unsafe.Pointer(&p3)))
		p3 = a3
		a4 := args3[string, bool, string]{str(), r.IntN(2) == 1, str()}
		if r.IntN(2) == 0 {
			a4.P0 = p4.P0
		}
		if r.IntN(2) == 0 {
			a4.P1 = p4.P1
		}
		if r.IntN(2) == 0 {
			a4.P2 = p4.P2
		}
		c4 := a4
		check("(string, bool, string)", &h4, unsafe.Pointer(&a4), unsafe.Pointer(&c4), prev(unsafe.Pointer(&p4)))
		p4 = a4
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
