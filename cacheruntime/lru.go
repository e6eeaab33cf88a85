package cacheruntime

import (
	"container/heap"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// lruOrder orders entries for MaxEntries eviction without a lock on the hit
// path: a hit only stores a stamp from the use clock in the entry (use).
// Entries sit in a min-heap by the stamp they had when they were placed
// there, and that stamp never exceeds the entry's last use. So when the
// top's last use still equals its placement stamp, no entry was used less
// recently and the top is the least recently used entry; otherwise the top
// is placed again by its last use (one heap.Fix: a sift down) and the next
// top examined. A heap, not a list sorted by stamp: placing an entry again
// in a sorted list walked past every entry placed since its use — on a
// full cache whose misses evict, most of the cache for an entry used long
// ago (57 % of the CPU of BenchmarkEvictZipf, about 1.5 µs a call).
//
// A heap key is twice the stamp, plus one for a placement by use: a use
// stamped with a tick came after the insertion that took that tick, so
// among equal stamps (hits that contended stamp with the clock as it
// stands) the inserted entry goes first.
type lruOrder struct {
	off    uintptr     // where an entry's lruFields are (entryLayout.lruOff); read by every hit
	approx atomic.Bool // two uses contended for the clock: hits stamp without advancing it (use)

	// tick, the use clock, has a line of its own: the fields above are
	// read by every hit, the ones below written by every insertion.
	_    [56]byte
	tick atomic.Int64
	_    [56]byte

	mu   sync.Mutex
	heap []*entry // by lruFields.key, least first
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
func (l *lruOrder) use(e *entry) {
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
func (l *lruOrder) inserted(e *entry) { l.links(e).lastUse.Store(l.tick.Add(1)) }

// links returns e's LRU fields.
func (l *lruOrder) links(e *entry) *lruFields {
	return (*lruFields)(unsafe.Add(unsafe.Pointer(e), l.off))
}

// push places a new entry, unless it is placed already or was removed.
func (l *lruOrder) push(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le := l.links(e)
	if le.idx != 0 || e.removed.Load() {
		return
	}
	le.key = 2 * le.lastUse.Load()
	heap.Push(l, e)
}

func (l *lruOrder) remove(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := l.links(e).idx - 1; i >= 0 {
		heap.Remove(l, i)
	}
	if cap(l.heap) > 64 && len(l.heap) < cap(l.heap)/4 {
		l.heap = slices.Clip(slices.Clone(l.heap)) // after a Clear, say
	}
}

// victim returns the least recently used entry (still placed).
func (l *lruOrder) victim() *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.heap) > 0 {
		t := l.heap[0]
		lt := l.links(t)
		last := lt.lastUse.Load()
		if last <= lt.key>>1 {
			return t
		}
		lt.key = 2*last + 1
		heap.Fix(l, 0)
	}
	return nil
}

// Len, Less, Swap, Push and Pop make the order a heap.Interface over its
// entries' own fields (key, and idx kept current); l.mu is held.

func (l *lruOrder) Len() int { return len(l.heap) }

func (l *lruOrder) Less(i, j int) bool {
	return l.links(l.heap[i]).key < l.links(l.heap[j]).key
}

func (l *lruOrder) Swap(i, j int) {
	l.heap[i], l.heap[j] = l.heap[j], l.heap[i]
	l.links(l.heap[i]).idx = i + 1
	l.links(l.heap[j]).idx = j + 1
}

func (l *lruOrder) Push(x any) {
	e := x.(*entry)
	l.heap = append(l.heap, e)
	l.links(e).idx = len(l.heap)
}

func (l *lruOrder) Pop() any {
	last := len(l.heap) - 1
	e := l.heap[last]
	l.heap[last] = nil
	l.heap = l.heap[:last]
	l.links(e).idx = 0
	return e
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
