package cacheruntime_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Notifier struct {
	Channel string
	Send    func(string) error
}

type Conn struct {
	ID     int
	events chan string
}

type Pool struct {
	Name  string
	Conns []*Conn
}

func TestHashErrors(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	notify := cacheruntime.Func2(func(n Notifier, msg string) int { c.inc(); return len(msg) }, cacheruntime.WithHandle(&h))
	n := Notifier{Channel: "ops", Send: func(string) error { return nil }}
	for range 3 {
		if got := notify(n, "hello"); got != 5 {
			t.Fatalf("result %d", got)
		}
	}
	if c.n.Load() != 3 {
		t.Fatalf("ran %d times, want 3 (uncached)", c.n.Load())
	}
	s := h.Stats()
	if s.Uncached != 3 || s.HashErrors != 3 || s.Hits != 0 || s.Misses != 0 || s.Entries != 0 {
		t.Fatalf("stats %+v", s)
	}
	if len(s.HashErrorLog) != 1 || s.HashErrorLog[0].Count != 3 {
		t.Fatalf("hash errors %+v", s.HashErrorLog)
	}
	he := s.HashErrorLog[0].Err
	if got, want := he.Detail(), "arg 1 (cacheruntime_test.Notifier).Send: func(string) error cannot be hashed"; got != want {
		t.Errorf("Detail() = %q\nwant        %q", got, want)
	}
	if he.Arg != 1 || he.Path != ".Send" || he.Type != "func(string) error" || he.Suggest != "cacheruntime_test.Notifier" {
		t.Errorf("fields %+v", he)
	}
	if !strings.HasSuffix(he.Error(), "; add cacheruntime.HashFunc(func(cacheruntime_test.Notifier) any { ... })") {
		t.Errorf("Error() = %q", he.Error())
	}
	if !strings.HasPrefix(he.Error(), "cacheruntime_test.TestHashErrors.func1: ") {
		t.Errorf("Error() does not name the function: %q", he.Error())
	}
	if site := s.HashErrorLog[0].Site; site.Line == 0 || !strings.HasSuffix(site.File, "hasherr_test.go") {
		t.Errorf("site %+v", site)
	}
}

func TestHashErrorPaths(t *testing.T) {
	cases := []struct {
		name   string
		call   func(h *cacheruntime.Handle)
		detail string
		fix    string
	}{
		{"deep inside slices and pointers", func(h *cacheruntime.Handle) {
			f := cacheruntime.Func(func(region string, p *Pool) int { return len(p.Conns) }, cacheruntime.WithHandle(h))
			f("eu", &Pool{Name: "a", Conns: []*Conn{{ID: 1}, {ID: 2}}})
		}, "arg 2 (*cacheruntime_test.Pool).Conns[0].events: chan string cannot be hashed", "*cacheruntime_test.Pool"},
		{"map values", func(h *cacheruntime.Handle) {
			f := cacheruntime.Func1(func(m map[string][]Notifier) int { return len(m) }, cacheruntime.WithHandle(h))
			f(map[string][]Notifier{"ops": {{Channel: "x"}}})
		}, `arg 1 (map[string][]cacheruntime_test.Notifier)["ops"][0].Send: func(string) error cannot be hashed`, "cacheruntime_test.Notifier"},
		{"a func argument", func(h *cacheruntime.Handle) {
			f := cacheruntime.Func2(func(n int, cb func(int)) int { return n }, cacheruntime.WithHandle(h))
			f(1, func(int) {})
		}, "arg 2 (func(int)): func(int) cannot be hashed", "func(int)"},
		{"unsafe.Pointer", func(h *cacheruntime.Handle) {
			f := cacheruntime.Func1(func(p unsafe.Pointer) int { return 1 }, cacheruntime.WithHandle(h))
			x := 1
			f(unsafe.Pointer(&x))
		}, "arg 1 (unsafe.Pointer): unsafe.Pointer cannot be hashed", "unsafe.Pointer"},
		{"behind an interface", func(h *cacheruntime.Handle) {
			f := cacheruntime.Func1(func(v any) int { return 1 }, cacheruntime.WithHandle(h))
			f([]any{1, Conn{ID: 2}})
		}, "arg 1 ([]interface {})[1].events: chan string cannot be hashed", "cacheruntime_test.Conn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h cacheruntime.Handle
			c.call(&h)
			s := h.Stats()
			if len(s.HashErrorLog) != 1 {
				t.Fatalf("hash errors %+v", s.HashErrorLog)
			}
			he := s.HashErrorLog[0].Err
			if he.Detail() != c.detail {
				t.Errorf("Detail() = %q\nwant        %q", he.Detail(), c.detail)
			}
			if he.Suggest != c.fix {
				t.Errorf("Suggest = %q, want %q", he.Suggest, c.fix)
			}
		})
	}
}

func TestStrict(t *testing.T) {
	check := func(t *testing.T, f func(Notifier, string) int) {
		t.Helper()
		defer func() {
			r := recover()
			he, ok := r.(*cacheruntime.HashError)
			if !ok {
				t.Fatalf("recovered %v, want *HashError", r)
			}
			want := "arg 1 (cacheruntime_test.Notifier).Send: func(string) error cannot be hashed; add cacheruntime.HashFunc(func(cacheruntime_test.Notifier) any { ... })"
			if !strings.HasSuffix(he.Error(), want) {
				t.Errorf("panic text %q\nwant suffix %q", he.Error(), want)
			}
		}()
		f(Notifier{}, "x")
	}
	t.Run("option", func(t *testing.T) {
		check(t, cacheruntime.Func2(func(Notifier, string) int { return 0 }, cacheruntime.Strict()))
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("CACHELENS_STRICT", "1")
		check(t, cacheruntime.Func2(func(Notifier, string) int { return 0 }))
	})
}

func TestHashFunc(t *testing.T) {
	t.Run("covers a type at any depth", func(t *testing.T) {
		var c counter
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(p *Pool) int { c.inc(); return len(p.Conns) },
			cacheruntime.HashFunc(func(c *Conn) any { return c.ID }), cacheruntime.WithHandle(&h))
		f(&Pool{Name: "a", Conns: []*Conn{{ID: 1, events: make(chan string)}}})
		f(&Pool{Name: "a", Conns: []*Conn{{ID: 1, events: make(chan string)}}}) // same IDs: hit
		f(&Pool{Name: "a", Conns: []*Conn{{ID: 2}}})                            // different ID: miss
		if c.n.Load() != 2 || h.Stats().HashErrors != 0 {
			t.Fatalf("computed %d times, stats %+v", c.n.Load(), h.Stats())
		}
	})
	t.Run("nil ignores the type", func(t *testing.T) {
		var c counter
		f := cacheruntime.Func2(func(n Notifier, msg string) int { c.inc(); return len(msg) },
			cacheruntime.HashFunc(func(func(string) error) any { return nil }))
		f(Notifier{Channel: "a", Send: func(string) error { return nil }}, "m")
		f(Notifier{Channel: "a", Send: func(string) error { return errBoom }}, "m")
		f(Notifier{Channel: "b"}, "m")
		if c.n.Load() != 2 {
			t.Fatalf("computed %d times, want 2", c.n.Load())
		}
	})
	t.Run("returning its own type", func(t *testing.T) {
		var c counter
		f := cacheruntime.Func1(func(p point) int { c.inc(); return p.X },
			cacheruntime.HashFunc(func(p point) any { return point{X: p.X} }))
		f(point{1, 1})
		f(point{1, 2})
		if c.n.Load() != 1 {
			t.Fatalf("computed %d times, want 1", c.n.Load())
		}
	})
	t.Run("a panic is a hash error", func(t *testing.T) {
		var c counter
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(p point) int { c.inc(); return p.X },
			cacheruntime.HashFunc(func(p point) any { panic(fmt.Sprintf("bad point %d", p.X)) }), cacheruntime.WithHandle(&h))
		f(point{1, 1})
		f(point{1, 1})
		s := h.Stats()
		if c.n.Load() != 2 || s.Uncached != 2 || len(s.HashErrorLog) != 1 {
			t.Fatalf("computed %d times, stats %+v", c.n.Load(), s)
		}
		if got, want := s.HashErrorLog[0].Err.Detail(), "arg 1 (cacheruntime_test.point): HashFunc for cacheruntime_test.point panicked: bad point 1"; got != want {
			t.Errorf("Detail() = %q\nwant        %q", got, want)
		}
	})
	t.Run("applies to results", func(t *testing.T) {
		// A result holding a connection whose internal state changes on
		// its own: without the HashFunc every hit would look mutated.
		type client struct {
			Name string
			Conn *Conn
		}
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(name string) *client { return &client{name, &Conn{ID: 1}} },
			cacheruntime.HashFunc(func(c *Conn) any { return c.ID }), cacheruntime.WithHandle(&h))
		f("a").Conn.events = make(chan string)
		f("a")
		if s := h.Stats(); s.Mutations != 0 || s.Hits != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestForget(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	f := cacheruntime.Func2(func(a int, b string) string { c.inc(); return fmt.Sprint(a, b) }, cacheruntime.WithHandle(&h))
	f(1, "a")
	f(2, "b")
	if ok, err := h.Forget(1, "a"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := h.Forget(1, "a"); ok {
		t.Fatal("forgot twice")
	}
	if _, err := h.Forget(1); err == nil {
		t.Fatal("wrong arity accepted")
	}
	if _, err := h.Forget("x", "a"); err == nil {
		t.Fatal("wrong type accepted")
	}
	f(1, "a")
	f(2, "b")
	if c.n.Load() != 3 {
		t.Fatalf("computed %d times, want 3", c.n.Load())
	}
	h.Clear()
	if h.Stats().Entries != 0 {
		t.Fatal("Clear left entries")
	}
	var unbound cacheruntime.Handle
	if _, err := unbound.Forget(1); !errors.Is(err, cacheruntime.ErrUnbound) {
		t.Fatal(err)
	}
}
