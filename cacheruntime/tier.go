package cacheruntime

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
	"github.com/cachelens/cachelens/wire"
)

// A tier keeps encoded results behind a cache's memory: Persist's disk, a
// shared Store. On a miss in memory the engine asks the tiers in order
// before computing; it hands each computed result to all of them.
type tier interface {
	// lookup returns the bytes kept for key. On a miss it returns ok
	// false and, when it knows, why.
	lookup(key Key) (payload []byte, expires time.Time, ok bool, why MissKind)
	// write keeps payload for key.
	write(key Key, payload []byte, expires time.Time)
	forget(key Key) bool // reports whether there was an entry
	clear()
	stats() TierStats
	// fail counts and reports an error of the tier.
	fail(msg string)
}

// TierStats is what a store behind a cache's memory did: Persist's disk,
// or a shared Store such as Redis.
type TierStats struct {
	Tier        string // "disk", "redis"
	Location    string // where its entries are
	Basis       string // what the code fingerprint covers
	Hits        int64  // calls it answered (counted in Stats.Hits too)
	Misses      int64  // lookups that found nothing, or an expired entry
	Writes      int64  // results stored
	WriteBytes  int64  // bytes stored
	Errors      int64  // reads, writes and encodings that failed (Stats.StoreErrorLog)
	CodeChanged int64  // misses whose arguments the function's older code had stored
}

// StoreErrorCount is a distinct error of a cache's store.
type StoreErrorCount struct {
	Tier    string
	Message string
	Count   int64
}

// tierCounters are a tier's counters, in its record of the run file.
type tierCounters []atomic.Int64

func (t tierCounters) stats(name, loc, basis string) TierStats {
	return TierStats{Tier: name, Location: loc, Basis: basis,
		Hits: t[wire.TierHits].Load(), Misses: t[wire.TierMisses].Load(),
		Writes: t[wire.TierWrites].Load(), WriteBytes: t[wire.TierWriteBytes].Load(),
		Errors: t[wire.TierErrors].Load(), CodeChanged: t[wire.TierCodeChanged].Load()}
}

// tierFail records a tier's error: counted, and described once.
func (c *cache) tierFail(kind uint32, ctr tierCounters, msg string) {
	if ctr != nil {
		ctr[wire.TierErrors].Add(1)
	}
	c.logStoreError(kind, msg)
}

// storeKey is the key of the call whose args tuple is at p (the entry e's)
// for stores outside the process: both lanes of the stable hash.
func (c *cache) storeKey(p unsafe.Pointer, e *entry) (Key, bool) {
	return c.storeKeyOf(p, e.h1, c.h2(e))
}

// storeKeyOf is storeKey for a call whose key hash gave h1, h2.
func (c *cache) storeKeyOf(p unsafe.Pointer, h1, h2 uint64) (Key, bool) {
	if !c.flat && c.cfg.keyMask == 0 {
		return Key{h1, h2}, true
	}
	a, b, fail := hashValue(c.keySet, c.keyC, p, true)
	return Key{a, b}, fail == nil
}

// fromTiers answers the miss for the in-flight entry e from the cache's
// tiers, or returns nil (with reason set when a tier knows why). A tier's
// hit is written to the tiers before it (a Redis hit warms the disk).
func (c *cache) fromTiers(st *site, sp uintptr, sh *shard, e *entry, key Key, reason *MissReason) (res unsafe.Pointer) {
	res = c.res(e)
	defer func() {
		if r := recover(); r != nil {
			c.internalError(st, "reading a stored result", r)
			reflect.NewAt(c.resT, res).Elem().SetZero()
			res = nil
		}
	}()
	for i, t := range c.tiers {
		payload, expires, ok, why := t.lookup(key)
		if !ok {
			if why != 0 && reason.Kind == 0 {
				reason.Kind = why
			}
			continue
		}
		if r := c.fromPayload(st, sp, sh, e, t, key, payload, expires); r != nil {
			for _, before := range c.tiers[:i] {
				before.write(key, payload, expires)
			}
			return r
		}
	}
	return nil
}

// fromPayload makes the in-flight entry e a hit answered by tier t with
// the bytes it kept, or returns nil if they do not decode (the entry is
// then dropped from t and the call computes).
func (c *cache) fromPayload(st *site, sp uintptr, sh *shard, e *entry, t tier, key Key, payload []byte, expires time.Time) unsafe.Pointer {
	res := c.res(e)
	if err := c.enc.decode(payload, res); err != nil {
		reflect.NewAt(c.resT, res).Elem().SetZero()
		t.fail(fmt.Sprintf("decoding a stored result: %v (the entry is removed)", err))
		t.forget(key)
		return nil
	}
	if !c.prepare(st, e, res) {
		reflect.NewAt(c.resT, res).Elem().SetZero()
		return nil
	}
	if c.cfg.ttl > 0 && !expires.IsZero() {
		*c.expires(e) = c.now() + int64(time.Until(expires))
	}
	c.keep(sh, e)
	st.countHit(false, st.counters(sp))
	st.remember(sp, e)
	if c.checkMut {
		c.mut(e).recv.Store(st)
	}
	return res
}

// encodeForTiers prepares a computed result for the tiers: encoded before
// any other caller can see (and change) it, written after (writeTiers).
// Why it cannot be is the first tier's error.
func (c *cache) encodeForTiers(res unsafe.Pointer) []byte {
	b, why := c.enc.encode(res)
	if why != "" {
		c.tiers[0].fail("not persisted: " + why)
		return nil
	}
	return b
}

// writeTiers writes an encoded result to every tier.
func (c *cache) writeTiers(key Key, payload []byte) {
	var expires time.Time
	if c.cfg.ttl > 0 {
		expires = time.Now().Add(c.cfg.ttl)
	}
	for _, t := range c.tiers {
		t.write(key, payload, expires)
	}
}

// storeErrRec is a distinct store error of a cache.
type storeErrRec struct {
	tier  uint32
	msg   string
	count *atomic.Int64
}

func (c *cache) logStoreError(tier uint32, msg string) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	for _, r := range c.storeErrs {
		if r.tier == tier && r.msg == msg {
			r.count.Add(1)
			return
		}
	}
	if len(c.storeErrs) >= maxLog {
		if c.storeMore == nil {
			c.storeMore = storeErrRecord(c.run, c.rid, tier, "(more distinct store errors than are described)")
		}
		c.storeMore.Add(1)
		return
	}
	r := &storeErrRec{tier: tier, msg: msg, count: storeErrRecord(c.run, c.rid, tier, msg)}
	r.count.Add(1)
	c.storeErrs = append(c.storeErrs, r)
}

// tierRecord describes the tier (an index of wire.TierNames) of the cache
// with record id def, at loc, and returns its counters.
func tierRecord(r *runfile.File, def uint32, tier uint32, loc, basis string) tierCounters {
	if r == nil {
		return runfile.Counters64(nil, 0, wire.TierNCounter)
	}
	b := runfile.NewBody(wire.TierCounters + 8*wire.TierNCounter)
	b.U32(wire.TierDef, def)
	b.U32(wire.TierKind, tier)
	b = b.Str(loc).Str(basis)
	rec := r.Record(wire.RecTier, 0, b, 8)
	if rec == nil {
		r.Dropped()
	}
	return runfile.Counters64(rec, wire.TierCounters, wire.TierNCounter)
}

// storeErrRecord records a distinct store error and returns its count.
func storeErrRecord(r *runfile.File, def, tier uint32, msg string) *atomic.Int64 {
	if r == nil {
		return new(atomic.Int64)
	}
	b := runfile.NewBody(wire.StoreErrStr)
	b.U32(wire.StoreErrDef, def)
	b.U32(wire.StoreErrTier, tier)
	b = b.Str(msg)
	m := r.Record(wire.RecStoreErr, 0, b, 8)
	if m == nil {
		r.Dropped()
		return new(atomic.Int64)
	}
	return &runfile.Counters64(m, wire.StoreErrCount, 1)[0]
}
