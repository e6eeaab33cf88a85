package cacheruntime_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

var helperLine int

func helperCall(f func(int) int, x int) int { helperLine = line(); return f(x) }

// TestCallSites: hits and misses are counted per call site, exactly.
func TestCallSites(t *testing.T) {
	for _, mk := range []struct {
		name string
		make func(h *cacheruntime.Handle) func(int) int
	}{
		{"Func1", func(h *cacheruntime.Handle) func(int) int {
			return cacheruntime.Func1(func(x int) int { return x * 2 }, cacheruntime.WithHandle(h))
		}},
		{"Func", func(h *cacheruntime.Handle) func(int) int {
			return cacheruntime.Func(func(x int) int { return x * 2 }, cacheruntime.WithHandle(h))
		}},
	} {
		t.Run(mk.name, func(t *testing.T) {
			var h cacheruntime.Handle
			f := mk.make(&h)
			lineA := line() + 2
			for i := range 5 {
				f(i % 2) // A: 2 misses, 3 hits
			}
			lineB := line() + 1
			f(0) // B: 1 hit
			var wg sync.WaitGroup
			lineC := line() + 2
			for range 4 {
				wg.Go(func() { f(1) }) // C: 4 hits
			}
			wg.Wait()
			helperCall(f, 3)
			lineD := helperLine
			want := map[int][2]int64{lineA: {3, 2}, lineB: {1, 0}, lineC: {4, 0}, lineD: {0, 1}}
			s := h.Stats()
			if len(s.Sites) != len(want) {
				t.Fatalf("sites %+v", s.Sites)
			}
			for _, st := range s.Sites {
				w, ok := want[st.Line]
				if !ok || st.Hits != w[0] || st.Misses != w[1] {
					t.Errorf("site line %d: %d hits %d misses, want %v", st.Line, st.Hits, st.Misses, w)
				}
				if !strings.HasSuffix(st.File, "sites_test.go") {
					t.Errorf("site file %s", st.File)
				}
			}
			if s.File == "" || !strings.HasSuffix(s.File, "sites_test.go") || s.Line == 0 {
				t.Errorf("definition at %s:%d", s.File, s.Line)
			}
		})
	}
}
