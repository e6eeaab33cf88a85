package cacheruntime

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// lruList orders entries for MaxEntries eviction without a lock on the hit
// path: a hit only stores a stamp from the use clock in the entry (use).
// The list is kept sorted by each entry's stamp at the time it was placed,
// and that stamp never exceeds the entry's last use. So when the tail's
// last use still equals its placement stamp, no entry was used less
// recently and the tail is the least recently used entry; otherwise the
// tail is re-placed by its last use and the next tail examined. Among
// equal stamps a re-placed entry goes nearer the head: its use came after
// the insertion that took that stamp.
type lruList struct {
	off    uintptr     // where an entry's lruFields are (entryLayout.lruOff); read by every hit
	approx atomic.Bool // two uses contended for the clock: hits stamp without advancing it (use)

	// tick, the use clock, has a line of its own: the fields above are
	// read by every hit, the ones below written by every insertion.
	_    [56]byte
	tick atomic.Int64
	_    [56]byte

	mu         sync.Mutex
	head, tail *entry // head: most recently placed
}

// use records a hit on e. While uses come one at a time, each takes a
// tick of its own, so the order of uses — and the entry evicted — is
// exact (TestLRUModel). A clock advanced by every hit is one line that
// every core writes, though: a bounded cache hit by two cores ran 4.7×
// slower than otter's. So once two uses contend for it (a failed
// compare-and-swap), the cache counts time in insertions for good: a hit
// stamps e with the clock as it stands — the stamp of the latest
// insertion — and writes nothing at all if e has that stamp already.
// Eviction then takes an entry not used since the oldest insertion any
// entry was last used after; uses between two insertions, which were
// concurrent or nearly so, count as simultaneous, as in the sampled and
// buffered policies of otter and Caffeine.
func (l *lruList) use(e *entry) {
	lu := &l.links(e).lastUse
	if l.approx.Load() {
		if t := l.tick.Load(); lu.Load() < t {
			lu.Store(t)
		}
		return
	}
	t := l.tick.Load() + 1
	if !l.tick.CompareAndSwap(t-1, t) {
		l.approx.Store(true)
		t = l.tick.Add(1)
	}
	lu.Store(t)
}

// inserted gives a new entry the next tick, before it is pushed.
func (l *lruList) inserted(e *entry) { l.links(e).lastUse.Store(l.tick.Add(1)) }

// links returns e's LRU fields.
func (l *lruList) links(e *entry) *lruFields {
	return (*lruFields)(unsafe.Add(unsafe.Pointer(e), l.off))
}

// push places a new entry at the head.
func (l *lruList) push(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.links(e).linked || e.removed.Load() {
		return
	}
	le := l.links(e)
	le.stamp = le.lastUse.Load()
	l.insertSorted(e)
}

// insertSorted links e keeping the list sorted by stamp, searching from the
// head (recent stamps are near it).
func (l *lruList) insertSorted(e *entry) {
	le := l.links(e)
	le.linked = true
	q := l.head
	for q != nil && l.links(q).stamp > le.stamp {
		q = l.links(q).nxt
	}
	// insert before q
	le.nxt = q
	if q == nil {
		le.prev = l.tail
		if l.tail != nil {
			l.links(l.tail).nxt = e
		} else {
			l.head = e
		}
		l.tail = e
		return
	}
	lq := l.links(q)
	le.prev = lq.prev
	if lq.prev != nil {
		l.links(lq.prev).nxt = e
	} else {
		l.head = e
	}
	lq.prev = e
}

func (l *lruList) unlinkLocked(e *entry) {
	le := l.links(e)
	if !le.linked {
		return
	}
	if le.prev != nil {
		l.links(le.prev).nxt = le.nxt
	} else {
		l.head = le.nxt
	}
	if le.nxt != nil {
		l.links(le.nxt).prev = le.prev
	} else {
		l.tail = le.prev
	}
	le.prev, le.nxt, le.linked = nil, nil, false
}

func (l *lruList) remove(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlinkLocked(e)
}

// victim returns the least recently used entry (still linked).
func (l *lruList) victim() *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.tail != nil {
		t := l.tail
		lt := l.links(t)
		last := lt.lastUse.Load()
		if last <= lt.stamp {
			return t
		}
		l.unlinkLocked(t)
		lt.stamp = last
		l.insertSorted(t)
	}
	return nil
}

// expiryQueue holds a TTL cache's entries in the order they expire. Every
// entry of a cache lives for the same TTL, so that is the order they were
// stored in: a FIFO whose head is the next to expire. Entries removed
// for other reasons are skipped when they reach the head.
type expiryQueue struct {
	mu   sync.Mutex
	q    []*entry
	head int
	off  uintptr // where an entry's expiry time is (entryLayout.ttlOff)
}

func (x *expiryQueue) push(e *entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.head > 0 && x.head >= len(x.q)/2 {
		n := copy(x.q, x.q[x.head:])
		clear(x.q[n:])
		x.q = x.q[:n]
		x.head = 0
	}
	x.q = append(x.q, e)
}

// due pops and returns the next entry that expired by now (nanoseconds on
// the cache's clock), or nil.
func (x *expiryQueue) due(now int64) *entry {
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.head < len(x.q) {
		e := x.q[x.head]
		if e.removed.Load() {
			x.q[x.head] = nil
			x.head++
			continue
		}
		if now <= *(*int64)(unsafe.Add(unsafe.Pointer(e), x.off)) {
			return nil
		}
		x.q[x.head] = nil
		x.head++
		return e
	}
	return nil
}
