package cacheruntime

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/wire"
)

// A Store is a store the processes running a cached function share —
// the replicas of a service — behind each one's memory (and disk, with
// Persist): a call that misses in memory asks it before computing, every
// computed result is written to it, and replicas missing the same
// arguments at once compute them once. The module
// github.com/cachelens/cachelens/stores/redis implements it on Redis;
// cacheruntime itself imports no client.
//
// Its methods are called from many goroutines and must return within a
// bounded time: a Store that is down or slow must fail fast rather than
// hold the call (the Redis store's default bound is 50 ms). An error
// costs the call nothing but the store's help — it computes locally — and
// is reported; after three errors in a row the cache leaves the store
// alone for a second, then for twice as long after each further error
// (at most 30 s), until one call succeeds.
type Store interface {
	// Name names the store in the editor and in errors: "redis".
	Name() string
	// Location says where its entries are ("redis 10.0.0.5:6379").
	Location() string
	// Get returns the value kept under key.
	Get(key string) (value []byte, ok bool, err error)
	// Set keeps value under key, for ttl (0: until evicted).
	Set(key string, value []byte, ttl time.Duration) error
	// Delete removes key, reporting whether it was there.
	Delete(key string) (bool, error)
	// Clear removes every key that starts with prefix.
	Clear(prefix string) error
	// Lock claims the computation of key's value for this process. ok is
	// false when another process holds the claim; unlock gives up a claim
	// held. A claim must expire by itself (a process can die holding it).
	Lock(key string) (unlock func(), ok bool, err error)
	// Wait waits, within the store's own bound, for the process holding
	// key's claim to store its value; ok is false if it did not in time.
	Wait(key string) (value []byte, ok bool, err error)
}

// WithStore shares the function's results through s (see Store). Give it
// to every replica's cache of the function; combine it with Persist for a
// disk tier between memory and s. Entries are keyed as Persist keys them:
// by the function's package and binding, its code version and the stable
// hash of the arguments, so replicas running other code do not share.
func WithStore(s Store) Option {
	return Option{func(c *config) { c.stores = append(c.stores, s) }}
}

// storeTier is a tier on a Store, with a breaker that leaves a failing
// store alone for a while.
type storeTier struct {
	c    *cache
	s    Store
	k    uint32
	name string

	once sync.Once
	ctr  tierCounters
	pre  string // the keys' prefix: the function and its code version

	fails     atomic.Int32
	openUntil atomic.Int64 // unix nanoseconds: the breaker is open until then
	backoff   atomic.Int64
}

func newStoreTier(c *cache, s Store) tier {
	t := &storeTier{c: c, s: s, name: s.Name(), k: uint32(slices.Index(wire.TierNames[:], s.Name()))}
	if t.k <= 1 { // not found, or a store calling itself memory or disk
		t.k = uint32(len(wire.TierNames) - 1)
	}
	return t
}

func (t *storeTier) open() {
	t.once.Do(func() {
		idn := t.c.identity()
		t.pre = fmt.Sprintf("cachelens:k%d:%016x:%016x:", KeyVersion, idn.id, idn.code)
		t.ctr = tierRecord(t.c.run, t.c.rid, t.k, t.s.Location(), idn.print.Basis)
	})
}

func (t *storeTier) key(k Key) string {
	t.open()
	return fmt.Sprintf("%s%016x%016x", t.pre, k[0], k[1])
}

// usable reports whether the breaker lets a call through; report counts
// a call it stops (once per call: at its lookup).
func (t *storeTier) usable(report bool) bool {
	if time.Now().UnixNano() < t.openUntil.Load() {
		if report {
			t.c.tierFail(t.k, nil, fmt.Sprintf("%s left alone after repeated errors (calls computed locally)", t.name))
		}
		return false
	}
	return true
}

// result records an operation's outcome for the breaker and reports an
// error.
func (t *storeTier) result(op string, err error) {
	if err == nil {
		t.fails.Store(0)
		t.backoff.Store(0)
		return
	}
	t.c.tierFail(t.k, t.ctr, fmt.Sprintf("%s %s: %v", t.name, op, err))
	if t.fails.Add(1) >= 3 {
		b := max(time.Duration(t.backoff.Load())*2, time.Second)
		b = min(b, 30*time.Second)
		t.backoff.Store(int64(b))
		t.openUntil.Store(time.Now().Add(b).UnixNano())
	}
}

func (t *storeTier) lookup(key Key) ([]byte, time.Time, bool, MissKind) {
	k := t.key(key)
	if !t.usable(true) {
		return nil, time.Time{}, false, 0
	}
	v, ok, err := t.s.Get(k)
	t.result("get", err)
	switch {
	case err != nil:
	case ok:
		t.ctr[wire.TierHits].Add(1)
		return v, time.Time{}, true, 0
	default:
		t.ctr[wire.TierMisses].Add(1)
	}
	return nil, time.Time{}, false, 0
}

func (t *storeTier) write(key Key, payload []byte, expires time.Time) {
	k := t.key(key)
	if !t.usable(false) {
		return
	}
	var ttl time.Duration
	if !expires.IsZero() {
		if ttl = time.Until(expires); ttl <= 0 {
			return
		}
	}
	err := t.s.Set(k, payload, ttl)
	t.result("set", err)
	if err == nil {
		t.ctr[wire.TierWrites].Add(1)
		t.ctr[wire.TierWriteBytes].Add(int64(len(payload)))
	}
}

func (t *storeTier) forget(key Key) bool {
	ok, err := t.s.Delete(t.key(key))
	t.result("delete", err)
	return ok
}

func (t *storeTier) clear() {
	t.open()
	t.result("clear", t.s.Clear(t.pre))
}

func (t *storeTier) fail(msg string) {
	t.open()
	t.c.tierFail(t.k, t.ctr, msg)
}

func (t *storeTier) stats() TierStats {
	t.open()
	return t.ctr.stats(t.name, t.s.Location(), t.c.identity().print.Basis)
}

// claim coordinates a miss with the other processes sharing the cache's
// stores: the first to miss a key computes it (unlock gives the claim up
// afterwards); the others wait for its value and return it as a hit of
// the store (res), or compute themselves if it does not come in time.
func (c *cache) claim(st *site, sp uintptr, sh *shard, e *entry, key Key) (unlock func(), res unsafe.Pointer) {
	for _, tr := range c.tiers {
		t, ok := tr.(*storeTier)
		if !ok || !t.usable(false) {
			continue
		}
		k := t.key(key)
		unlock, held, err := t.s.Lock(k)
		t.result("lock", err)
		if err != nil {
			return nil, nil
		}
		if held {
			return unlock, nil
		}
		v, found, err := t.s.Wait(k)
		t.result("wait", err)
		if !found {
			if err == nil {
				t.c.tierFail(t.k, nil, fmt.Sprintf("another process's computation did not reach %s in time (computed here)", t.name))
			}
			return nil, nil
		}
		t.ctr[wire.TierHits].Add(1)
		if r := c.fromPayload(st, sp, sh, e, t, key, v, time.Time{}); r != nil {
			return nil, r
		}
		return nil, nil
	}
	return nil, nil
}
