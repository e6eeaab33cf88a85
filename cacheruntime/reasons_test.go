package cacheruntime_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
)

type Report struct {
	Region string
	Date   time.Time
	Limit  int
}

func lastReason(t *testing.T, h *cacheruntime.Handle, siteLine int) cacheruntime.MissReason {
	t.Helper()
	for _, s := range h.Stats().Sites {
		if s.Line == siteLine {
			if len(s.Reasons) == 0 {
				t.Fatalf("no reasons at line %d", siteLine)
			}
			return s.Reasons[0].Reason
		}
	}
	t.Fatalf("no site at line %d: %+v", siteLine, h.Stats().Sites)
	return cacheruntime.MissReason{}
}

func TestMissReasons(t *testing.T) {
	var h cacheruntime.Handle
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	run := cacheruntime.Func2(func(user string, r Report) int { return len(user) + r.Limit }, cacheruntime.WithHandle(&h))
	var at int
	call := func(user string, r Report) {
		at = line() + 1
		run(user, r)
	}
	call("ann", Report{"eu", day, 10})
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissFirst || r.String() != "first call with these arguments" {
		t.Errorf("got %v", r)
	}
	call("ann", Report{"eu", day.AddDate(0, 0, 1), 10})
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissArgs || r.Arg != 2 || r.Path != ".Date" ||
		r.String() != "arg 2 .Date changed since the previous call here" {
		t.Errorf("got %+v %q", r, r)
	}
	call("bob", Report{"eu", day.AddDate(0, 0, 1), 10})
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissArgs || r.Arg != 1 || r.String() != "arg 1 changed since the previous call here" {
		t.Errorf("got %+v %q", r, r)
	}
	h.Clear()
	call("bob", Report{"eu", day.AddDate(0, 0, 1), 10})
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissCleared {
		t.Errorf("got %v, want cleared", r)
	}
	if ok, _ := h.Forget("bob", Report{"eu", day.AddDate(0, 0, 1), 10}); !ok {
		t.Fatal("Forget found nothing")
	}
	call("bob", Report{"eu", day.AddDate(0, 0, 1), 10})
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissCleared {
		t.Errorf("got %v, want cleared", r)
	}
	// Reasons are counted per site, most recent first.
	for _, s := range h.Stats().Sites {
		if s.Line == at {
			var total int64
			for _, rc := range s.Reasons {
				total += rc.Count
			}
			if total != s.Misses || s.Misses != 5 {
				t.Errorf("reasons add up to %d, misses %d", total, s.Misses)
			}
		}
	}
}

func TestTTL(t *testing.T) {
	// The default reporter's goroutine lives as long as the process: it
	// must start outside the bubble (run alone, this test made it start
	// inside, and the bubble never ended).
	cacheruntime.Func1(strings.ToUpper)("x")
	synctest.Test(t, func(t *testing.T) {
		var c counter
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(k string) string { c.inc(); return strings.ToUpper(k) },
			cacheruntime.TTL(time.Minute), cacheruntime.WithHandle(&h))
		var at int
		call := func(k string) { at = line(); f(k) }
		call("a")
		time.Sleep(59 * time.Second)
		call("a")
		if c.n.Load() != 1 {
			t.Fatal("expired early")
		}
		time.Sleep(2 * time.Second)
		call("a")
		if c.n.Load() != 2 {
			t.Fatal("did not expire")
		}
		if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissExpired {
			t.Errorf("reason %v", r)
		}
		// Expired entries are swept even if never called again.
		call("b")
		time.Sleep(3 * time.Minute)
		call("c")
		s := h.Stats()
		if s.Entries != 1 || s.Expired != 3 {
			t.Errorf("entries %d, expired %d", s.Entries, s.Expired)
		}
	})
}

func TestMaxEntriesLRU(t *testing.T) {
	var c counter
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(k string) string { c.inc(); return k }, cacheruntime.MaxEntries(2), cacheruntime.WithHandle(&h))
	var at int
	call := func(k string) { at = line(); f(k) }
	call("a")
	call("b")
	call("a") // a is now more recent than b
	call("c") // evicts b
	n := c.n.Load()
	call("a")
	if c.n.Load() != n {
		t.Fatal("a was evicted instead of b")
	}
	call("b")
	if c.n.Load() != n+1 {
		t.Fatal("b was not evicted")
	}
	if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissEvicted {
		t.Errorf("reason %v", r)
	}
	if s := h.Stats(); s.Entries != 2 || s.Evictions != 2 {
		t.Errorf("stats entries %d evictions %d", s.Entries, s.Evictions)
	}
}

// TestLRUModel compares hits and misses with a reference LRU on random
// access sequences, with entries forgotten (removed from the middle of
// the eviction order) now and then.
func TestLRUModel(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 1))
		capacity := 1 + rng.IntN(8)
		if seed%4 == 0 {
			capacity = 20 + rng.IntN(40)
		}
		keys := 2 + rng.IntN(2*capacity+8)
		var computed bool
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(k int) int { computed = true; return k }, cacheruntime.MaxEntries(capacity), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
		var model []int // most recent last
		for i := range 2000 {
			k := rng.IntN(keys)
			idx := -1
			for j, m := range model {
				if m == k {
					idx = j
				}
			}
			if rng.IntN(10) == 0 {
				if ok, err := h.Forget(k); err != nil || ok != (idx >= 0) {
					t.Fatalf("seed %d step %d: Forget(%d) = %v, %v; model has it: %v", seed, i, k, ok, err, idx >= 0)
				}
				if idx >= 0 {
					model = append(model[:idx], model[idx+1:]...)
				}
				continue
			}
			wantHit := idx >= 0
			if wantHit {
				model = append(model[:idx], model[idx+1:]...)
			} else if len(model) == capacity {
				model = model[1:]
			}
			model = append(model, k)
			computed = false
			f(k)
			if computed == wantHit {
				t.Fatalf("seed %d step %d key %d: hit=%v, model says %v (capacity %d)", seed, i, k, !computed, wantHit, capacity)
			}
		}
	}
}

// TestStress runs many goroutines over shared keys with every feature on;
// run it with -race.
func TestStress(t *testing.T) {
	var h cacheruntime.Handle
	f := cacheruntime.Func2E(func(k int, tag string) ([]int, error) {
		if k%17 == 0 {
			return nil, errBoom
		}
		return []int{k, len(tag)}, nil
	}, cacheruntime.MaxEntries(40), cacheruntime.TTL(time.Millisecond*5), cacheruntime.WithHandle(&h))
	g := cacheruntime.Func(func(k int, m map[string]int) int { return k + len(m) }, cacheruntime.MaxEntries(10))
	var wg sync.WaitGroup
	const workers, calls = 16, 3000
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range calls {
				k := rng.IntN(60)
				v, err := f(k, "tag")
				if k%17 == 0 {
					if err == nil {
						panic("error result lost")
					}
				} else if err != nil || v[0] != k || v[1] != 3 {
					panic(fmt.Sprintf("f(%d) = %v, %v", k, v, err))
				}
				if got := g(k, map[string]int{"a": 1}); got != k+1 {
					panic("g wrong")
				}
				if rng.IntN(50) == 0 {
					h.Clear()
				}
			}
		})
	}
	wg.Wait()
	s := h.Stats()
	if s.Hits+s.Misses != workers*calls {
		t.Fatalf("hits %d + misses %d != %d calls", s.Hits, s.Misses, workers*calls)
	}
	if s.Entries > 40 || s.Entries < 0 {
		t.Fatalf("entries %d", s.Entries)
	}
}

type pair struct{ A, B int }

// TestReasonComparesWithThePreviousCallEvenAHit: "the previous call here"
// includes hits. {1,1} miss, {2,2} miss, {1,1} hit, {1,3} miss: the last
// miss changed .B since the hit on {1,1} (against the previous miss,
// {2,2}, it would say .A). The hit and the miss reach the site's record at
// different stack depths; both must find the goroutine's one slot — also
// when the stack has grown between them.
func TestReasonComparesWithThePreviousCallEvenAHit(t *testing.T) {
	// Depths 0–40 move the calls through 2.5 KiB of stack in 64-byte
	// steps, so some place the hit and the miss on either side of any
	// boundary a slot choice could depend on; 5000 grows the stack.
	depths := []int{5000}
	for d := range 41 {
		depths = append(depths, d)
	}
	for _, depth := range depths {
		var h cacheruntime.Handle
		f := cacheruntime.Func1(func(p pair) int { return p.A + p.B }, cacheruntime.WithHandle(&h), cacheruntime.NoReport())
		var at int
		call := func(p pair) {
			at = line() + 1
			f(p)
		}
		deepStack(depth, func() {
			call(pair{1, 1})
			call(pair{2, 2})
			call(pair{1, 1})
			call(pair{1, 3})
		})
		if r := lastReason(t, &h, at); r.Kind != cacheruntime.MissArgs || r.Arg != 1 || r.Path != ".B" {
			t.Errorf("depth %d: %+v (%q), want arg 1 .B changed", depth, r, r)
		}
	}
}

// deepStack runs f below n more frames (growing the stack for large n).
func deepStack(n int, f func()) {
	var pad [64]byte
	if n > 0 {
		deepStack(n-1, f)
		_ = pad
		return
	}
	f()
}
