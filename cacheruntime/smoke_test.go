package cacheruntime

import (
	"reflect"
	"testing"
	"unsafe"
)

type tnode struct {
	V    int
	Next *tnode
	M    map[string]any
	S    []any
}

func TestSmoke(t *testing.T) {
	a := &tnode{V: 1, M: map[string]any{"x": 1.5}}
	a.Next = a
	a.S = []any{a, "s", 3}
	a.M["self"] = a
	set := newHashSet(modeKey, nil)
	c := set.of(reflect.TypeFor[*tnode]())
	h1, h2, f := hashValue(set, c, unsafe.Pointer(&a), true)
	t.Log(h1, h2, f)
	b := Clone(a)
	if b == a || b.Next != b || b.S[0].(*tnode) != b || b.M["self"].(*tnode) != b {
		t.Fatal("clone aliasing broken")
	}
	g1, g2, _ := hashValue(set, c, unsafe.Pointer(&b), true)
	if g1 != h1 || g2 != h2 {
		t.Fatal("clone hash differs")
	}
	b.M["x"] = 2.5
	g1, _, _ = hashValue(set, c, unsafe.Pointer(&b), true)
	if g1 == h1 {
		t.Fatal("change not seen")
	}
}
