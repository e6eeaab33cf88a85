package cacheruntime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

// counter wraps a function and counts how often it really runs.
type counter struct{ n atomic.Int64 }

func (c *counter) inc() { c.n.Add(1) }

type Loader func(id string) (string, error)

type repo struct {
	prefix string
	calls  counter
}

func (r *repo) Get(id int) string {
	r.calls.inc()
	return fmt.Sprint(r.prefix, id)
}

// TestSignatures: Func wraps any signature and keeps its type.
func TestSignatures(t *testing.T) {
	t.Run("no arguments", func(t *testing.T) {
		var c counter
		f := cacheruntime.Func(func() int { c.inc(); return 42 })
		first, second := f(), f()
		if first != 42 || second != 42 || c.n.Load() != 1 {
			t.Fatalf("computed %d times", c.n.Load())
		}
	})
	t.Run("many arguments and results", func(t *testing.T) {
		var c counter
		f := cacheruntime.Func(func(a int, b string, c2 float64, d []byte, e map[string]int) (int, string, error) {
			c.inc()
			return a + len(b) + len(d) + len(e), b + string(d), nil
		})
		for range 3 {
			n, s, err := f(1, "ab", 1.5, []byte("xy"), map[string]int{"k": 1})
			if n != 6 || s != "abxy" || err != nil {
				t.Fatal(n, s, err)
			}
		}
		f(1, "ab", 1.5, []byte("xz"), map[string]int{"k": 1})
		if c.n.Load() != 2 {
			t.Fatalf("computed %d times, want 2", c.n.Load())
		}
	})
	t.Run("variadic", func(t *testing.T) {
		var c counter
		sum := cacheruntime.Func(func(prefix string, xs ...int) string {
			c.inc()
			n := 0
			for _, x := range xs {
				n += x
			}
			return fmt.Sprint(prefix, n)
		})
		first, again := sum("s", 1, 2), sum("s", 1, 2)
		if first != "s3" || again != "s3" || sum("s", 3) != "s3" || sum("s") != "s0" {
			t.Fatal("wrong results")
		}
		if c.n.Load() != 3 {
			t.Fatalf("computed %d times, want 3", c.n.Load())
		}
	})
	t.Run("named function type", func(t *testing.T) {
		var l Loader = func(id string) (string, error) { return strings.ToUpper(id), nil }
		var cached Loader = cacheruntime.Func(l)
		if s, _ := cached("a"); s != "A" {
			t.Fatal(s)
		}
	})
	t.Run("method value", func(t *testing.T) {
		r := &repo{prefix: "r"}
		get := cacheruntime.Func(r.Get)
		get(1)
		get(1)
		if get(2) != "r2" || r.calls.n.Load() != 2 {
			t.Fatalf("computed %d times", r.calls.n.Load())
		}
	})
	t.Run("no results", func(t *testing.T) {
		var c counter
		once := cacheruntime.Func(func(string) { c.inc() })
		once("a")
		once("a")
		once("b")
		if c.n.Load() != 2 {
			t.Fatalf("ran %d times", c.n.Load())
		}
	})
	t.Run("context is not part of the key", func(t *testing.T) {
		var c counter
		f := cacheruntime.Func2E(func(ctx context.Context, id int) (int, error) { c.inc(); return id * 2, nil })
		ctx1, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		f(ctx1, 1)
		f(context.Background(), 1)
		f(nil, 1) //nolint:staticcheck // a nil context is still not part of the key
		if c.n.Load() != 1 {
			t.Fatalf("computed %d times", c.n.Load())
		}
	})
	t.Run("typed variants", func(t *testing.T) {
		var c counter
		f0 := cacheruntime.Func0(func() int { c.inc(); return 1 })
		f1 := cacheruntime.Func1(func(a int) int { c.inc(); return a })
		f2 := cacheruntime.Func2(func(a, b int) int { c.inc(); return a + b })
		f3 := cacheruntime.Func3(func(a, b, d int) int { c.inc(); return a + b + d })
		f0e := cacheruntime.Func0E(func() (int, error) { c.inc(); return 1, nil })
		f1e := cacheruntime.Func1E(func(a int) (int, error) { c.inc(); return a, nil })
		f2e := cacheruntime.Func2E(func(a, b int) (int, error) { c.inc(); return a + b, nil })
		f3e := cacheruntime.Func3E(func(a, b, d int) (int, error) { c.inc(); return a + b + d, nil })
		for range 3 {
			if f0() != 1 || f1(1) != 1 || f2(1, 2) != 3 || f3(1, 2, 3) != 6 {
				t.Fatal("wrong result")
			}
			if v, _ := f0e(); v != 1 {
				t.Fatal(v)
			}
			if v, _ := f1e(1); v != 1 {
				t.Fatal(v)
			}
			if v, _ := f2e(1, 2); v != 3 {
				t.Fatal(v)
			}
			if v, _ := f3e(1, 2, 3); v != 6 {
				t.Fatal(v)
			}
		}
		if c.n.Load() != 8 {
			t.Fatalf("computed %d times, want 8", c.n.Load())
		}
	})
	t.Run("not a function", func(t *testing.T) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "want a non-nil function") {
				t.Fatalf("recovered %v", r)
			}
		}()
		var f func(int) int
		cacheruntime.Func(f)
	})
}

var errBoom = errors.New("boom")

// TestErrorsNotCached: a non-nil error result is returned but not cached.
func TestErrorsNotCached(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	fail := true
	f := cacheruntime.Func1E(func(id int) (string, error) {
		c.inc()
		if fail {
			return "", errBoom
		}
		return "ok", nil
	}, cacheruntime.WithHandle(&h))
	for i, wantErr := range []bool{true, true, false, false} {
		fail = wantErr
		v, err := f(1) // one call site
		if wantErr != (err != nil) || (!wantErr && v != "ok") {
			t.Fatalf("call %d: %q, %v", i, v, err)
		}
	}
	if c.n.Load() != 3 {
		t.Fatalf("computed %d times, want 3", c.n.Load())
	}
	s := h.Stats()
	if s.Hits != 1 || s.Misses != 3 || s.Entries != 1 || len(s.Sites) != 1 {
		t.Fatalf("stats %+v", s)
	}
	reasons := s.Sites[0].Reasons
	if len(reasons) != 2 || reasons[0].Reason.Kind != cacheruntime.MissError || reasons[0].Count != 2 || reasons[1].Reason.Kind != cacheruntime.MissFirst {
		t.Errorf("reasons %+v", reasons)
	}
	// Func: the last result being error counts too.
	var c2 counter
	g := cacheruntime.Func(func(id int) (int, error) { c2.inc(); return 0, errBoom })
	g(1)
	g(1)
	if c2.n.Load() != 2 {
		t.Fatalf("Func cached an error: computed %d times", c2.n.Load())
	}
}

type panicValue struct{ msg string }

// TestPanicsPropagate: a panic is not cached and reaches the caller as is.
func TestPanicsPropagate(t *testing.T) {
	pv := &panicValue{"x"}
	var c counter
	boom := true
	f := cacheruntime.Func1(func(int) int {
		c.inc()
		if boom {
			panic(pv)
		}
		return 7
	})
	g := cacheruntime.Func(func(int) int {
		c.inc()
		if boom {
			panic(pv)
		}
		return 7
	})
	for _, fn := range []func(int) int{f, g} {
		func() {
			defer func() {
				if r := recover(); r != pv {
					t.Fatalf("recovered %v, want the original panic value", r)
				}
			}()
			fn(1)
		}()
	}
	boom = false
	if f(1) != 7 || g(1) != 7 || f(1) != 7 {
		t.Fatal("wrong result after panic")
	}
	if c.n.Load() != 4 {
		t.Fatalf("computed %d times, want 4", c.n.Load())
	}
}

// TestSingleFlight: concurrent calls with equal arguments compute once.
func TestSingleFlight(t *testing.T) {
	var c counter
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	f := cacheruntime.Func1(func(k string) []int {
		c.inc()
		started <- struct{}{}
		<-release
		return []int{len(k)}
	})
	var wg sync.WaitGroup
	results := make([][]int, 32)
	for i := range results {
		wg.Go(func() { results[i] = f("key") })
	}
	<-started
	time.Sleep(20 * time.Millisecond) // let the others queue up behind the first
	close(release)
	wg.Wait()
	if c.n.Load() != 1 {
		t.Fatalf("computed %d times, want 1", c.n.Load())
	}
	for _, r := range results {
		if len(r) != 1 || r[0] != 3 {
			t.Fatalf("result %v", r)
		}
	}
}

// TestSingleFlightError: waiting callers share the leader's error; a later
// call computes again.
func TestSingleFlightError(t *testing.T) {
	var c counter
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	f := cacheruntime.Func1E(func(k string) (int, error) {
		c.inc()
		started <- struct{}{}
		<-release
		return 0, errBoom
	})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f("k") })
	}
	<-started
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for _, err := range errs {
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
	}
	n := c.n.Load()
	f("k")
	if c.n.Load() != n+1 {
		t.Fatal("an error result was cached")
	}
}

// TestCollisions forces every key's primary hash to collide: the second
// hash (or, for plain comparable keys, equality) still tells keys apart.
func TestCollisions(t *testing.T) {
	t.Run("comparable keys", func(t *testing.T) {
		f := cacheruntime.Func2(func(a int, b string) string { return fmt.Sprint(a, b) }, cacheruntime.ForceCollisions())
		for round := range 2 {
			for i := range 200 {
				if got, want := f(i, "x"), fmt.Sprint(i, "x"); got != want {
					t.Fatalf("round %d: f(%d) = %q, want %q", round, i, got, want)
				}
			}
		}
	})
	t.Run("structural keys", func(t *testing.T) {
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(xs []int) int {
			s := 0
			for _, x := range xs {
				s = s*31 + x
			}
			return s
		}, cacheruntime.ForceCollisions(), cacheruntime.WithHandle(&h))
		for round := range 2 {
			for i := range 200 {
				xs := []int{i, i + 1}
				if got, want := f(xs), i*31+i+1; got != want {
					t.Fatalf("round %d: f(%v) = %d, want %d", round, xs, got, want)
				}
			}
		}
		if s := h.Stats(); s.Hits != 200 || s.Misses != 200 || s.Entries != 200 {
			t.Fatalf("stats %+v", s)
		}
	})
}
