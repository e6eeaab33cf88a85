package cacheruntime_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

type point struct {
	X, Y int
}

type withHidden struct {
	Name   string
	hidden int
}

type tree struct {
	Val         int
	Left, Right *tree
}

type cyc struct {
	Name string
	Next *cyc
}

type shared struct {
	A, B *point
}

type ladder struct {
	L, R *ladder
	N    int
}

// buildLadder builds a DAG of depth n where each level points twice to the
// next: 2^n paths, n+1 objects.
func buildLadder(n int) *ladder {
	var l *ladder
	for i := range n {
		l = &ladder{L: l, R: l, N: i}
	}
	return l
}

func ring(names ...string) *cyc {
	nodes := make([]*cyc, len(names))
	for i, n := range names {
		nodes[i] = &cyc{Name: n}
	}
	for i := range nodes {
		nodes[i].Next = nodes[(i+1)%len(nodes)]
	}
	return nodes[0]
}

type withCtx struct {
	Ctx context.Context
	ID  int
}

func mustHash[T any](t *testing.T, v T, opts ...cacheruntime.Option) cacheruntime.Key {
	t.Helper()
	k, err := cacheruntime.Hash(v, opts...)
	if err != nil {
		t.Fatalf("Hash(%T): %v", v, err)
	}
	return k
}

func mapInOrder(keys []string) map[string]int {
	m := make(map[string]int)
	for _, k := range keys {
		m[k] = len(k) // the same map whatever the order of keys
	}
	return m
}

// TestHashEqual: values Func treats as the same argument hash equal.
func TestHashEqual(t *testing.T) {
	many := make([]string, 200)
	for i := range many {
		many[i] = strings.Repeat("k", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	reversed := make([]string, len(many))
	for i := range many {
		reversed[i] = many[len(many)-1-i]
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p1, p2 := &point{1, 2}, &point{1, 2}
	cases := []struct {
		name string
		a, b func(t *testing.T) cacheruntime.Key
	}{
		{"pointers are followed",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, &point{1, 2}) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, &point{1, 2}) }},
		{"maps ignore insertion order",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, mapInOrder(many)) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, mapInOrder(reversed)) }},
		{"maps of structs ignore order",
			func(t *testing.T) cacheruntime.Key {
				return mustHash(t, map[point][]string{{1, 2}: {"a"}, {3, 4}: {"b", "c"}})
			},
			func(t *testing.T) cacheruntime.Key {
				return mustHash(t, map[point][]string{{3, 4}: {"b", "c"}, {1, 2}: {"a"}})
			}},
		{"negative zero equals zero",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, math.Copysign(0, -1)) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, 0.0) }},
		{"every NaN hashes alike",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, []float64{math.NaN()}) },
			func(t *testing.T) cacheruntime.Key {
				return mustHash(t, []float64{math.Float64frombits(0x7ff8000000000042)})
			}},
		{"shared and unshared equal pointers",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, shared{p1, p1}) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, shared{p1, p2}) }},
		{"isomorphic cycles",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, ring("a", "b", "c")) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, ring("a", "b", "c")) }},
		{"interfaces by dynamic value",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, []any{1, "x", point{1, 2}}) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, []any{1, "x", point{1, 2}}) }},
		{"context fields are left out",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, withCtx{ctx, 7}) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, withCtx{context.Background(), 7}) }},
		{"deep sharing is walked once",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, buildLadder(200)) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, buildLadder(200)) }},
		{"long strings by content",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, strings.Repeat("ab", 1000)) },
			func(t *testing.T) cacheruntime.Key {
				return mustHash(t, strings.Repeat("a", 1)+strings.Repeat("ba", 999)+"b")
			}},
		{"times with equal representation",
			func(t *testing.T) cacheruntime.Key { return mustHash(t, time.Unix(100, 5).UTC()) },
			func(t *testing.T) cacheruntime.Key { return mustHash(t, time.Unix(100, 5).UTC()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if a, b := c.a(t), c.b(t); a != b {
				t.Errorf("hashes differ: %x vs %x", a, b)
			}
		})
	}
}

// TestHashDiffer: any change to a reachable part changes the key.
func TestHashDiffer(t *testing.T) {
	var nilSlice []int
	var nilMap map[string]int
	cases := []struct {
		name string
		a, b any
	}{
		{"int vs int64 behind an interface", []any{1}, []any{int64(1)}},
		{"unexported field", withHidden{"a", 1}, withHidden{"a", 2}},
		{"nil vs empty slice", struct{ S []int }{nilSlice}, struct{ S []int }{[]int{}}},
		{"nil vs empty map", struct{ M map[string]int }{nilMap}, struct{ M map[string]int }{map[string]int{}}},
		{"slice order", []int{1, 2}, []int{2, 1}},
		{"string boundaries", []string{"ab", "c"}, []string{"a", "bc"}},
		{"nil pointer vs pointer to zero", struct{ P *point }{nil}, struct{ P *point }{&point{}}},
		{"nested map value", map[string][]int{"a": {1}}, map[string][]int{"a": {2}}},
		{"ring length", ring("a", "a"), ring("a", "a", "a")},
		{"ring content", ring("a", "b"), ring("a", "c")},
		{"tree shape", &tree{Val: 1, Left: &tree{Val: 2}}, &tree{Val: 1, Right: &tree{Val: 2}}},
		{"tiny float change", 1.0, math.Nextafter(1, 2)},
		{"empty vs missing string", []string{""}, []string{}},
		{"byte strings of 3 and 4", "abc", "abcd"},
		{"long strings", strings.Repeat("x", 100) + "a", strings.Repeat("x", 100) + "b"},
		{"bool", true, false},
		{"any nil vs typed nil", []any{nil}, []any{(*point)(nil)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, errA := cacheruntime.Hash(c.a)
			b, errB := cacheruntime.Hash(c.b)
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			if a == b {
				t.Errorf("%v and %v hash alike", c.a, c.b)
			}
			if a[0] == b[0] || a[1] == b[1] {
				t.Errorf("one lane collides: %x vs %x", a, b)
			}
		})
	}
}

// TestHashTerminates: heavily connected cyclic graphs finish.
func TestHashTerminates(t *testing.T) {
	type gnode struct {
		ID   int
		Out  []*gnode
		Data map[string]*gnode
	}
	build := func() *gnode {
		nodes := make([]*gnode, 14)
		for i := range nodes {
			nodes[i] = &gnode{ID: i, Data: map[string]*gnode{}}
		}
		for i, n := range nodes {
			for j, m := range nodes {
				if i != j {
					n.Out = append(n.Out, m)
				}
			}
			n.Data["self"] = n
		}
		return nodes[0]
	}
	done := make(chan cacheruntime.Key)
	go func() { done <- mustHash(t, build()) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("hashing a complete graph did not finish")
	}
	self := &cyc{Name: "me"}
	self.Next = self
	mustHash(t, self)
	s := []any{nil}
	s[0] = s
	mustHash(t, s)
	m := map[string]any{}
	m["m"] = m
	mustHash(t, m)
}

func TestHashError(t *testing.T) {
	type holder struct {
		Name string
		Fn   func(int) int
	}
	_, err := cacheruntime.Hash(map[string][]holder{"k": {{Name: "a"}}})
	var he *cacheruntime.HashError
	if !asHashError(err, &he) {
		t.Fatalf("want *HashError, got %v", err)
	}
	want := `(map[string][]cacheruntime_test.holder)["k"][0].Fn: func(int) int cannot be hashed`
	if he.Detail() != want {
		t.Errorf("Detail() = %q, want %q", he.Detail(), want)
	}
	if he.Suggest != "cacheruntime_test.holder" {
		t.Errorf("Suggest = %q", he.Suggest)
	}
	for _, v := range []any{make(chan int), func() {}, struct{ C chan int }{}} {
		if _, err := cacheruntime.Hash(v); err == nil {
			t.Errorf("Hash(%T) succeeded", v)
		}
	}
	// A HashFunc makes it hashable.
	if _, err := cacheruntime.Hash(holder{Fn: nil}, cacheruntime.HashFunc(func(func(int) int) any { return nil })); err != nil {
		t.Error(err)
	}
}
