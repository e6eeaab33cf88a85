package cacheruntime_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Item struct {
	SKU   string
	Price float64
}

type Catalog struct {
	Region string
	Items  []Item
	Index  map[string]int
}

func newCatalog(region string) *Catalog {
	return &Catalog{Region: region, Items: []Item{{"a", 1}, {"b", 2}, {"c", 3}}, Index: map[string]int{"a": 0, "b": 1, "c": 2}}
}

func line() int {
	_, _, l, _ := runtime.Caller(1)
	return l
}

func TestMutationDetected(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	load := cacheruntime.Func1(func(region string) *Catalog { c.inc(); return newCatalog(region) }, cacheruntime.WithHandle(&h))
	recvLine := line() + 1
	cat := load("eu")
	cat.Items[1].Price = 99 // the caller mutates the cached result
	detLine := line() + 1
	fresh := load("eu")
	if c.n.Load() != 2 {
		t.Fatalf("computed %d times, want 2 (recomputed after the mutation)", c.n.Load())
	}
	if fresh.Items[1].Price != 2 {
		t.Fatalf("caller got the mutated value %v", fresh.Items[1].Price)
	}
	s := h.Stats()
	if s.Mutations != 1 || len(s.MutationLog) != 1 {
		t.Fatalf("stats %+v", s)
	}
	m := s.MutationLog[0]
	if m.Path != ".Items[1].Price" {
		t.Errorf("path %q", m.Path)
	}
	if m.Received.Line != recvLine || m.Detected.Line != detLine {
		t.Errorf("received at %d (want %d), detected at %d (want %d)", m.Received.Line, recvLine, m.Detected.Line, detLine)
	}
	if !strings.HasSuffix(m.Detected.Function, "TestMutationDetected") {
		t.Errorf("detected in %q", m.Detected.Function)
	}
	// The detecting site missed with the reason "mutated".
	for _, st := range s.Sites {
		if st.Line == detLine {
			if st.Misses != 1 || st.Reasons[0].Reason.Kind != cacheruntime.MissMutated || st.Reasons[0].Reason.Path != ".Items[1].Price" {
				t.Errorf("site %+v", st)
			}
		}
	}
	// The fresh value is checked again.
	load("eu")
	if c.n.Load() != 2 {
		t.Fatal("fresh value was not cached")
	}
}

func TestMutationPaths(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Catalog)
		path   string
	}{
		{"field", func(c *Catalog) { c.Region = "us" }, ".Region"},
		{"map delete", func(c *Catalog) { delete(c.Index, "b") }, ".Index"},
		{"map value", func(c *Catalog) { c.Index["c"] = 7 }, `.Index["c"]`},
		{"slice element", func(c *Catalog) { c.Items[2] = Item{"z", 0} }, ".Items[2].SKU"},
		{"second field of an element", func(c *Catalog) { c.Items[0].Price++ }, ".Items[0].Price"},
		{"reslice", func(c *Catalog) { c.Items = c.Items[:1] }, ".Items"},
		{"append into the slice", func(c *Catalog) { c.Items = append(c.Items, Item{"d", 4}) }, ".Items"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			var h cacheruntime.Handle
			load := cacheruntime.Func1(func(region string) *Catalog { return newCatalog(region) }, cacheruntime.WithHandle(&h))
			cs.mutate(load("eu"))
			load("eu")
			s := h.Stats()
			if len(s.MutationLog) != 1 || s.MutationLog[0].Path != cs.path {
				t.Fatalf("mutations %+v, want path %q", s.MutationLog, cs.path)
			}
		})
	}
}

func TestMutationLargeSlice(t *testing.T) {
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(n int) []float64 { return make([]float64, n) }, cacheruntime.WithHandle(&h))
	v := f(1 << 20)
	v[500_000] = 1
	f(1 << 20)
	s := h.Stats()
	if len(s.MutationLog) != 1 {
		t.Fatalf("mutations %+v", s.MutationLog)
	}
	// The path narrows the change to a chunk that contains the index.
	var lo, hi int
	if _, err := sscanRange(s.MutationLog[0].Path, &lo, &hi); err != nil || lo > 500_000 || hi <= 500_000 || hi-lo > 1<<14 {
		t.Fatalf("path %q", s.MutationLog[0].Path)
	}
	if s.Bytes < 8<<20 {
		t.Errorf("bytes held %d, want at least 8 MiB", s.Bytes)
	}
}

func TestAllowOutputMutation(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	load := cacheruntime.Func1(func(region string) *Catalog { c.inc(); return newCatalog(region) },
		cacheruntime.AllowOutputMutation(), cacheruntime.WithHandle(&h))
	a := load("eu")
	a.Items[0].Price = 42
	b := load("eu")
	if a != b || b.Items[0].Price != 42 || c.n.Load() != 1 {
		t.Fatalf("want the same object with the change kept; computed %d times", c.n.Load())
	}
	if s := h.Stats(); s.Mutations != 0 || s.Hits != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloneAvoidsMutation(t *testing.T) {
	var h cacheruntime.Handle
	load := cacheruntime.Func1(func(region string) *Catalog { return newCatalog(region) }, cacheruntime.WithHandle(&h))
	mine := cacheruntime.Clone(load("eu"))
	mine.Items[0].Price = 42
	mine.Index["new"] = 9
	if load("eu").Items[0].Price != 1 {
		t.Fatal("clone shared memory with the cached value")
	}
	if s := h.Stats(); s.Mutations != 0 || s.Hits != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestValueResultsNeedNoCheck(t *testing.T) {
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(n int) Item { return Item{"x", float64(n)} }, cacheruntime.WithHandle(&h))
	v := f(1)
	v.Price = 5 // a copy: the cache is unaffected
	if f(1).Price != 1 || h.Stats().Mutations != 0 {
		t.Fatal("value result changed")
	}
}
