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
type shard struct {
	mu  sync.Mutex
	tab atomic.Pointer[table]
	n   int // entries linked (under mu)
	_   [40]byte
}

// table is one generation of a shard's slots.
type table struct {
	mask  uint64
	slots []atomic.Pointer[entry]
}

const minSlots = 8

// slot picks a slot by bits of h1 that the shard choice (its low bits) did
// not use.
func (t *table) slot(h1 uint64) *atomic.Pointer[entry] {
	return &t.slots[bits.RotateLeft64(h1, 32)&t.mask]
}

// head returns the first entry of h1's chain, or nil.
func (sh *shard) head(h1 uint64) *entry {
	t := sh.tab.Load()
	if t == nil {
		return nil
	}
	return t.slot(h1).Load()
}

// insert links e (not yet linked) at the front of its chain. sh.mu is held.
func (sh *shard) insert(e *entry) {
	t := sh.tab.Load()
	if t == nil || sh.n >= len(t.slots) {
		t = sh.grow(t)
	}
	s := t.slot(e.h1)
	e.next.Store(s.Load())
	s.Store(e)
	sh.n++
}

// grow publishes a table twice as large (or the first one) holding every
// entry of t. sh.mu is held.
func (sh *shard) grow(t *table) *table {
	n := minSlots
	if t != nil {
		n = 2 * len(t.slots)
	}
	nt := &table{mask: uint64(n - 1), slots: make([]atomic.Pointer[entry], n)}
	if t != nil {
		for i := range t.slots {
			for e := t.slots[i].Load(); e != nil; {
				next := e.next.Load()
				s := nt.slot(e.h1)
				e.next.Store(s.Load())
				s.Store(e)
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
