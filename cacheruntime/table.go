package cacheruntime

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// A shard holds part of a cache's entries in a chained hash table that
// readers search without any lock: the table and every chain link are
// published with atomic stores, so a hit costs loads only — no shared
// cache line is written. Writers (inserting, unlinking, growing) take mu.
//
// A reader may see a chain while a writer changes it: it then finds the
// entry or misses it, never anything else, and a miss goes to the slow
// path, which looks again under mu. Growing relinks entries into a new
// table; a reader still walking the old one may follow a link into a new
// chain and miss — the same harmless false miss — and every chain ends.
//
// A shard is three cache lines (TestHotObjectsOwnTheirLines): tab has one
// to itself wherever the array of shards starts, with the writers' fields
// of this shard and the previous one at least 56 bytes away.
type shard struct {
	tab atomic.Pointer[table] // read by every lookup: on a line writers do not touch
	_   [56]byte

	mu   sync.Mutex
	n    int       // entries linked (under mu)
	cond sync.Cond // on mu: an entry of this shard left the computing state
	_    [56]byte
}

// table is one generation of a shard's slots. It is read by every lookup
// and fills one cache line, as its slot array fills whole lines (minSlots
// pointers or more): objects of 64 bytes and its multiples are aligned to
// lines, so nothing the program allocated beside them shares theirs.
type table struct {
	mask  uint64
	slots []atomic.Pointer[entry]
	_     [32]byte
}

const minSlots = 8

// slot picks a slot by bits of h1 that the shard choice (its low bits) did
// not use.
func (t *table) slot(h1 uint64) *atomic.Pointer[entry] { return &t.slots[t.index(h1)] }

func (t *table) index(h1 uint64) uint64 { return bits.RotateLeft64(h1, 32) & t.mask }

// head returns the first entry of h1's chain, or nil.
func (sh *shard) head(h1 uint64) *entry {
	t := sh.tab.Load()
	if t == nil {
		return nil
	}
	return t.slot(h1).Load()
}

// insert links e (not yet linked) at the end of its chain. sh.mu is held.
//
// The end, not the front: a chain then keeps its entries in the order
// they came, and the entries that came first — in most programs the ones
// called most (a Zipf mix's hot keys are the first inserted) — are found
// without stepping through later ones, each a cache miss.
func (sh *shard) insert(e *entry) {
	t := sh.tab.Load()
	if t == nil || sh.n >= len(t.slots) {
		t = sh.grow(t)
	}
	appendTo(t.slot(e.h1), e)
	sh.n++
}

// appendTo links e, whose next is nil, at the end of the chain starting
// at s. Readers see the chain without e or with e complete.
func appendTo(s *atomic.Pointer[entry], e *entry) {
	q := s.Load()
	if q == nil {
		s.Store(e)
		return
	}
	for n := q.next.Load(); n != nil; n = q.next.Load() {
		q = n
	}
	q.next.Store(e)
}

// grow publishes a table twice as large (or the first one) holding every
// entry of t, each chain in its old order. sh.mu is held.
func (sh *shard) grow(t *table) *table {
	n := minSlots
	if t != nil {
		n = 2 * len(t.slots)
	}
	nt := &table{mask: uint64(n - 1), slots: make([]atomic.Pointer[entry], n)}
	if t != nil {
		// Doubling adds one bit to the slot index: chain i splits into
		// the new chains i and i+len(t.slots), each keeping its order.
		for i := range t.slots {
			var tails [2]*entry
			for e := t.slots[i].Load(); e != nil; {
				next := e.next.Load()
				e.next.Store(nil)
				j := nt.index(e.h1)
				half := j / uint64(len(t.slots)) // 0: slot i, 1: slot i+len(t.slots)
				if tails[half] == nil {
					nt.slots[j].Store(e)
				} else {
					tails[half].next.Store(e)
				}
				tails[half] = e
				e = next
			}
		}
	}
	sh.tab.Store(nt)
	return nt
}

// unlink removes e from its chain if it is linked. sh.mu is held.
func (sh *shard) unlink(e *entry) bool {
	t := sh.tab.Load()
	if t == nil {
		return false
	}
	s := t.slot(e.h1)
	q := s.Load()
	if q == e {
		s.Store(e.next.Load())
		sh.n--
		return true
	}
	for ; q != nil; q = q.next.Load() {
		if q.next.Load() == e {
			q.next.Store(e.next.Load())
			sh.n--
			return true
		}
	}
	return false
}

// each calls f for every linked entry. sh.mu is held.
func (sh *shard) each(f func(*entry)) {
	t := sh.tab.Load()
	if t == nil {
		return
	}
	for i := range t.slots {
		for e := t.slots[i].Load(); e != nil; e = e.next.Load() {
			f(e)
		}
	}
}

// wait returns when e has left the computing state.
func (sh *shard) wait(e *entry) {
	if e.state.Load() != stComputing {
		return
	}
	sh.mu.Lock()
	for e.state.Load() == stComputing {
		sh.cond.Wait()
	}
	sh.mu.Unlock()
}

// settle moves e out of the computing state and wakes the callers waiting
// for it (and, harmlessly, those waiting for other entries of sh). The
// store is made under mu, so no waiter can miss it.
func (sh *shard) settle(e *entry, state entryState) {
	sh.mu.Lock()
	e.state.Store(state)
	sh.cond.Broadcast()
	sh.mu.Unlock()
}
