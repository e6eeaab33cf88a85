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
// hashed inline (hashDirect); the hash must be the one the compiled
// functions give — the hash is stable across processes and versions, and
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
	check := func(name string, h *Handle, p unsafe.Pointer) {
		t.Helper()
		c := h.c.Load()
		if c.direct == nil {
			t.Fatalf("%s: keys not hashed directly", name)
		}
		if got, want := hashDirect(c.direct, p), closureHash(c, p); got != want {
			t.Fatalf("%s: direct hash %#x, compiled %#x", name, got, want)
		}
	}
	var h1, h2, h3, h4 Handle
	Func2(func(int, string) int { return 0 }, NoReport(), WithHandle(&h1))
	Func1(func(string) int { return 0 }, NoReport(), WithHandle(&h2))
	Func3(func(int8, plainPair, [5]byte) int { return 0 }, NoReport(), WithHandle(&h3))
	Func3(func(string, bool, string) int { return 0 }, NoReport(), WithHandle(&h4))
	for range 2000 {
		a2 := args2[int, string]{r.Int(), str()}
		check("(int, string)", &h1, unsafe.Pointer(&a2))
		a1 := args1[string]{str()}
		check("(string)", &h2, unsafe.Pointer(&a1))
		var arr [5]byte
		for i := range arr {
			arr[i] = byte(r.Uint32())
		}
		a3 := args3[int8, plainPair, [5]byte]{int8(r.Int()), plainPair{r.Int32(), r.Uint32()}, arr}
		check("(int8, plainPair, [5]byte)", &h3, unsafe.Pointer(&a3))
		a4 := args3[string, bool, string]{str(), r.IntN(2) == 1, str()}
		check("(string, bool, string)", &h4, unsafe.Pointer(&a4))
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
