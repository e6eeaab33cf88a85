package cacheruntime_test

// Regression tests for defects found by porting Streamlit's and joblib's
// cache tests. Each test is named after the behaviour it checks.

import (
	"context"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// returnsWithin fails the test if f does not return within d: a call that
// hangs must fail the test, not the test binary's timeout.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}()
	select {
	case <-done:
		if panicked != nil {
			t.Fatalf("%s panicked: %v", what, panicked)
		}
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

type query struct{ filters map[string]string }

type hiddenAny struct{ v any }

type hiddenSlice struct{ xs []int }

type hiddenMapOfIface struct{ m map[string]any }

// TestUnexportedReferencesNeverPanicOrHang: arguments and results holding a
// map, an interface, or a long slice behind an unexported field, or a map
// with a NaN key, are cached like any other value; the second equal call
// returns.
func TestUnexportedReferencesNeverPanicOrHang(t *testing.T) {
	long := make([]int, 40)
	for i := range long {
		long[i] = i
	}
	cases := []struct {
		name string
		arg  any
		next any // a different argument, so the second call misses with a reason
	}{
		{"map behind an unexported field", query{map[string]string{"a": "b"}}, query{map[string]string{"a": "c"}}},
		{"interface behind an unexported field", hiddenAny{[]int{1}}, hiddenAny{[]int{2}}},
		{"long slice behind an unexported field", hiddenSlice{long}, hiddenSlice{append(long[:39:39], 99)}},
		{"map of interfaces behind an unexported field", hiddenMapOfIface{map[string]any{"k": &query{map[string]string{"x": "y"}}}}, hiddenMapOfIface{map[string]any{"k": 2}}},
		{"map with a NaN key", map[float64]int{math.NaN(): 1, 2: 3}, map[float64]int{math.NaN(): 2, 2: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var runs atomic.Int64
			var h cacheruntime.Handle
			f := cacheruntime.Func(func(a any) any { runs.Add(1); return a }, cacheruntime.WithHandle(&h), cacheruntime.NoReport())
			returnsWithin(t, 5*time.Second, "first call", func() { f(c.arg) })
			returnsWithin(t, 5*time.Second, "second equal call", func() { f(c.arg) })
			returnsWithin(t, 5*time.Second, "call with other arguments", func() { f(c.next) })
			returnsWithin(t, 5*time.Second, "third call", func() { f(c.next) })
			if s := h.Stats(); s.Hits+s.Misses+s.Uncached != 4 {
				t.Errorf("counted %d calls, want 4: %+v", s.Hits+s.Misses+s.Uncached, s)
			}
			// A result holding the same shapes is checked for mutation
			// without panicking.
			g := cacheruntime.Func1(func(int) any { return c.arg }, cacheruntime.NoReport())
			returnsWithin(t, 5*time.Second, "result check", func() { g(1); g(1) })
		})
	}
	t.Run("typed struct argument", func(t *testing.T) {
		f := cacheruntime.Func1(func(q query) int { return len(q.filters) }, cacheruntime.NoReport())
		q := query{map[string]string{"a": "b"}}
		returnsWithin(t, 5*time.Second, "first call", func() { f(q) })
		returnsWithin(t, 5*time.Second, "second call", func() { f(q) })
	})
}

type node struct {
	V    int
	Next *node
	Any  any
}

// TestSlicesSharingABackingArrayDiffer: a slice and a longer slice of the
// same backing array are different arguments even when the element type may
// cycle; a change to an element beyond the shorter one's length is a
// mutation.
func TestSlicesSharingABackingArrayDiffer(t *testing.T) {
	var runs atomic.Int64
	diff := cacheruntime.Func2(func(old, cur []any) int { runs.Add(1); return len(cur) - len(old) }, cacheruntime.NoReport())
	old := make([]any, 2, 8)
	old[0], old[1] = 1, "two"
	if got := diff(old, old); got != 0 {
		t.Fatalf("diff(old, old) = %d", got)
	}
	if got := diff(old, append(old, 3)); got != 1 {
		t.Fatalf("diff(old, append(old, x)) = %d, want 1 (returned another call's result)", got)
	}
	ka := mustHash(t, []*node{{V: 1}})
	nodes := []*node{{V: 1}, {V: 2}}
	if mustHash(t, nodes[:1]) != ka || mustHash(t, nodes) == mustHash(t, nodes[:1]) {
		t.Fatal("slices of one backing array with different lengths hash alike")
	}
	type pair struct{ A, B []any }
	buf := []any{1, 2, 3}
	if mustHash(t, pair{buf[:1], buf}) == mustHash(t, pair{buf[:1], buf[:1]}) {
		t.Fatal("pair{buf[:1], buf} hashes like pair{buf[:1], buf[:1]}")
	}

	type result struct{ All, First []any }
	var h cacheruntime.Handle
	get := cacheruntime.Func1(func(int) result {
		all := []any{0, 1, 2, 3}
		return result{First: all[:1], All: all}
	}, cacheruntime.WithHandle(&h), cacheruntime.NoReport())
	r := get(1)
	r.All[2] = "changed"
	get(1)
	if s := h.Stats(); s.Mutations != 1 || len(s.MutationLog) != 1 || s.MutationLog[0].Path != ".All[2]" {
		t.Fatalf("mutation of All[2] not detected: %d mutations, log %+v", s.Mutations, s.MutationLog)
	}
}

type UserID int

type page struct {
	ID   UserID
	Page int
}

// TestHashFuncAppliesInsidePlainValues: a HashFunc for a plain type applies
// inside plain structs, arrays and slices.
func TestHashFuncAppliesInsidePlainValues(t *testing.T) {
	ignoreID := cacheruntime.HashFunc(func(UserID) any { return nil })
	check := func(name string, a, b any) {
		t.Helper()
		if mustHash(t, a, ignoreID) != mustHash(t, b, ignoreID) {
			t.Errorf("%s: HashFunc[UserID] ignored", name)
		}
		if mustHash(t, a) == mustHash(t, b) {
			t.Errorf("%s: values hash alike without the HashFunc", name)
		}
	}
	check("struct", page{1, 2}, page{3, 2})
	check("array", [2]UserID{1, 2}, [2]UserID{3, 4})
	check("slice", []UserID{1, 2}, []UserID{3, 4})
	check("slice of structs", []page{{1, 1}}, []page{{2, 1}})
	check("map value", map[string]UserID{"a": 1}, map[string]UserID{"a": 2})

	var runs atomic.Int64
	f := cacheruntime.Func1(func(p page) int { runs.Add(1); return p.Page }, ignoreID, cacheruntime.NoReport())
	f(page{1, 1})
	f(page{2, 1})
	if runs.Load() != 1 {
		t.Errorf("Func1 with HashFunc[UserID] computed %d times, want 1", runs.Load())
	}
	g := cacheruntime.Func1(func(ids [3]UserID) int { runs.Add(1); return len(ids) }, ignoreID, cacheruntime.NoReport())
	runs.Store(0)
	g([3]UserID{1, 2, 3})
	g([3]UserID{4, 5, 6})
	if runs.Load() != 1 {
		t.Errorf("Func1 over [3]UserID with HashFunc[UserID] computed %d times, want 1", runs.Load())
	}
}

// TestCloneSlicesSharingABackingArray: Clone never reads or writes past a
// copied slice, whatever order slices of one backing array come in.
func TestCloneSlicesSharingABackingArray(t *testing.T) {
	type pair struct{ A, B []int }
	buf := []int{1, 2, 3, 4, 5, 6, 7, 8}
	c := cacheruntime.Clone(pair{buf[0:1:1], buf})
	if !reflect.DeepEqual(c.B, buf) || !reflect.DeepEqual(c.A, []int{1}) {
		t.Fatalf("clone = %v, want {[1] %v}", c, buf)
	}
	if &c.A[0] != &c.B[0] {
		t.Error("slices with the same start do not share the copy")
	}
	for i := range c.B {
		c.B[i] = -1
	}
	if buf[7] != 8 {
		t.Fatal("writing the clone changed the original")
	}
	type ppair struct{ A, B []*int }
	x := 1
	pbuf := []*int{&x, nil, &x, nil}
	pc := cacheruntime.Clone(ppair{pbuf[0:1:1], pbuf})
	if len(pc.B) != 4 || pc.B[0] != pc.B[2] || pc.B[0] == &x || *pc.B[0] != 1 || pc.B[1] != nil {
		t.Fatalf("clone of pointer slices = %v", pc.B)
	}
	// Different starts in one backing array: independent copies, equal
	// contents.
	c2 := cacheruntime.Clone(pair{buf[2:4], buf[1:6]})
	if !reflect.DeepEqual(c2.A, buf[2:4]) || !reflect.DeepEqual(c2.B, buf[1:6]) {
		t.Fatalf("clone = %v", c2)
	}
}

type request struct {
	context.Context
	ID int
}

type ctxHolder struct {
	Ctx context.Context
	ID  int
}

// TestOnlyContextTypedValuesLeftOut: values of type context.Context are
// left out of keys; a struct that embeds one (and so implements it) is data.
func TestOnlyContextTypedValuesLeftOut(t *testing.T) {
	ctx := context.Background()
	var runs atomic.Int64
	f := cacheruntime.Func1(func(r request) int { runs.Add(1); return r.ID }, cacheruntime.NoReport())
	if f(request{ctx, 1}) != 1 || f(request{ctx, 2}) != 2 {
		t.Fatal("requests with different IDs shared one entry")
	}
	g := cacheruntime.Func2(func(ctx context.Context, id int) int { runs.Add(1); return id }, cacheruntime.NoReport())
	runs.Store(0)
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	g(ctx, 1)
	g(ctx2, 1)
	if runs.Load() != 1 {
		t.Errorf("context.Context parameter is part of the key: %d computations", runs.Load())
	}
	if mustHash(t, ctxHolder{ctx, 1}) != mustHash(t, ctxHolder{ctx2, 1}) {
		t.Error("a context.Context field is part of the key")
	}
	if mustHash(t, request{ctx, 1}) == mustHash(t, request{ctx, 2}) {
		t.Error("a struct embedding context.Context is left out of the key")
	}
}

// TestDeepListsHashAndClone: a linked list of half a million nodes hashes,
// fingerprints, clones and is sized without overflowing a goroutine stack
// limited to 32 MB (recursion per node needs about 100 bytes of stack per
// node, so it would need 50 MB; by default Go allows 1 GB, which recursion
// exhausts at about two million nodes).
func TestDeepListsHashAndClone(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(32 << 20))
	const n = 500_000
	var head *node
	for i := range n {
		head = &node{V: i, Next: head}
	}
	k1 := mustHash(t, head)
	head.Next.Next.V = -1
	if mustHash(t, head) == k1 {
		t.Fatal("a change deep in the list did not change the key")
	}
	c := cacheruntime.Clone(head)
	length := 0
	for p, q := c, head; p != nil; p, q = p.Next, q.Next {
		if p == q || p.V != q.V {
			t.Fatalf("clone differs at node %d", length)
		}
		length++
	}
	if length != n {
		t.Fatalf("clone has %d nodes", length)
	}
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(int) *node { return head }, cacheruntime.WithHandle(&h), cacheruntime.NoReport())
	f(1)
	f(1)
	if s := h.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Fatalf("stats %+v", s)
	}
}

type wrapped struct{ Inner selfWrapping }

type selfWrapping struct{ N int }

// TestHashFuncReturningItsOwnTypeTerminates: a HashFunc whose result holds
// its own type hashes that inner value without calling itself again.
func TestHashFuncReturningItsOwnTypeTerminates(t *testing.T) {
	var calls atomic.Int64
	opt := cacheruntime.HashFunc(func(s selfWrapping) any { calls.Add(1); return wrapped{s} })
	var k1, k2 cacheruntime.Key
	returnsWithin(t, 5*time.Second, "Hash", func() {
		k1 = mustHash(t, selfWrapping{1}, opt)
		k2 = mustHash(t, selfWrapping{2}, opt)
	})
	if k1 == k2 {
		t.Error("different values hash alike through the HashFunc")
	}
	if calls.Load() != 2 {
		t.Errorf("HashFunc ran %d times for two hashes", calls.Load())
	}
	ptrOpt := cacheruntime.HashFunc(func(s *node) any { calls.Add(1); return &node{V: s.V, Next: s} })
	returnsWithin(t, 5*time.Second, "Hash of a pointer wrapper", func() { mustHash(t, &node{V: 1}, ptrOpt) })
}

// TestHashReportsAPanickingHashFunc: Hash's error names the HashFunc's panic.
func TestHashReportsAPanickingHashFunc(t *testing.T) {
	_, err := cacheruntime.Hash(struct{ N UserID }{1}, cacheruntime.HashFunc(func(UserID) any { panic("no IDs today") }))
	if err == nil || !strings.Contains(err.Error(), "no IDs today") || !strings.Contains(err.Error(), "HashFunc for cacheruntime_test.UserID panicked") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "cannot be hashed") {
		t.Errorf("err says the type cannot be hashed: %v", err)
	}
}

// TestSuggestedFixNamesAWritableType: the suggested HashFunc type is one a
// program can write: never an unexported type of another package.
func TestSuggestedFixNamesAWritableType(t *testing.T) {
	_, err := cacheruntime.Hash(struct{ Handler func() }{})
	var he *cacheruntime.HashError
	if !asHashError(err, &he) {
		t.Fatal(err)
	}
	f := cacheruntime.Func1(func(t reflect.Type) string { return t.String() }, cacheruntime.NoReport(), cacheruntime.Strict())
	func() {
		defer func() {
			r := recover()
			he, ok := r.(*cacheruntime.HashError)
			if !ok {
				t.Fatalf("strict mode panicked with %v", r)
			}
			if he.Suggest != "reflect.Type" {
				t.Errorf("Suggest = %q, want reflect.Type", he.Suggest)
			}
		}()
		f(reflect.TypeFor[int]())
	}()
}

// TestHashFuncRunsOncePerCall: a HashFunc runs once per call, on a hit and
// on a miss (Streamlit asserts the same), and not for results.
func TestHashFuncRunsOncePerCall(t *testing.T) {
	var calls atomic.Int64
	type conn struct{ addr string }
	type args struct {
		C    *conn
		Page int
	}
	opt := cacheruntime.HashFunc(func(c *conn) any { calls.Add(1); return c.addr })
	f := cacheruntime.Func1(func(a args) args { return a }, opt, cacheruntime.NoReport())
	c := &conn{"db:5432"}
	f(args{c, 1}) // miss (first)
	if calls.Load() != 1 {
		t.Errorf("first call ran the HashFunc %d times", calls.Load())
	}
	f(args{c, 1}) // hit
	if calls.Load() != 2 {
		t.Errorf("after a hit the HashFunc ran %d times in all, want 2", calls.Load())
	}
	f(args{c, 2}) // miss with a reason
	if calls.Load() != 3 {
		t.Errorf("after a miss with a reason the HashFunc ran %d times in all, want 3", calls.Load())
	}
}

// TestExpiredDroppedBeforeValidEvicted: with TTL and MaxEntries, an expired
// entry makes room before a live one is evicted — also when the expired
// entry was used more recently than the live one — and Entries counts live
// entries only.
func TestExpiredDroppedBeforeValidEvicted(t *testing.T) {
	var h cacheruntime.Handle
	const ttl = 300 * time.Millisecond
	f := cacheruntime.Func1(func(k string) string { return k }, cacheruntime.TTL(ttl), cacheruntime.MaxEntries(2), cacheruntime.WithHandle(&h), cacheruntime.NoReport())
	start := time.Now()
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }
	f("x")                     // t=0
	at(50 * time.Millisecond)  //
	f("a")                     // t=50: a expires at 350
	at(310 * time.Millisecond) //
	f("b")                     // t=310: x has expired; b expires at 610
	at(320 * time.Millisecond) //
	f("a")                     // a is now used more recently than b
	at(400 * time.Millisecond) // a has expired, b is live
	if s := h.Stats(); s.Entries != 1 {
		t.Errorf("Entries = %d with one live entry (b)", s.Entries)
	}
	f("c") // room for c: a (expired) must go, not b
	f("b")
	s := h.Stats()
	if s.Evictions != 0 {
		t.Errorf("a live entry was evicted while an expired one remained: %d evictions", s.Evictions)
	}
	if s.Hits != 2 {
		t.Errorf("hits = %d, want 2 (a once, then b stayed cached)", s.Hits)
	}
	if s.Entries != 2 {
		t.Errorf("Entries = %d, want 2 (b and c)", s.Entries)
	}
}
