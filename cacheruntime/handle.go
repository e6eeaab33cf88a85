package cacheruntime

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cachelens/cachelens/wire"
)

// A Handle gives the program access to one cached function's statistics
// and entries, like functools.lru_cache's cache_info() and cache_clear().
// Bind it with the WithHandle option:
//
//	var users cacheruntime.Handle
//	var loadUser = cacheruntime.Func(loadUserFromDB, cacheruntime.WithHandle(&users))
//	...
//	fmt.Println(users.Stats())
//
// The zero Handle is unbound: Stats returns zero and Clear does nothing.
type Handle struct {
	c atomic.Pointer[cache]
}

// ErrUnbound is returned by Handle.Forget before the handle is bound.
var ErrUnbound = errors.New("cacheruntime: handle is not bound to a cache (use the WithHandle option)")

// Stats returns a snapshot of the cache's counters.
func (h *Handle) Stats() Stats {
	c := h.c.Load()
	if c == nil {
		return Stats{}
	}
	return c.stats()
}

// Clear removes every entry. Later calls miss with the reason "cleared".
func (h *Handle) Clear() {
	if c := h.c.Load(); c != nil {
		c.clear()
	}
}

// Forget removes the entry for the given arguments, which are the cached
// function's arguments in order (context arguments may be nil, a variadic
// tail is passed as a slice). It reports whether an entry was removed.
func (h *Handle) Forget(args ...any) (bool, error) {
	c := h.c.Load()
	if c == nil {
		return false, ErrUnbound
	}
	if len(args) != len(c.params) {
		return false, fmt.Errorf("cacheruntime: Forget(%s): got %d arguments, want %d", c.name, len(args), len(c.params))
	}
	tuple := reflect.New(c.argsT).Elem()
	for i, a := range args {
		f := tuple.Field(i)
		if a == nil {
			continue
		}
		v := reflect.ValueOf(a)
		if !v.Type().AssignableTo(f.Type()) {
			if !v.Type().ConvertibleTo(f.Type()) || f.Kind() != v.Kind() {
				return false, fmt.Errorf("cacheruntime: Forget(%s): argument %d is %s, want %s", c.name, i+1, v.Type(), f.Type())
			}
			v = v.Convert(f.Type())
		}
		f.Set(v)
	}
	return c.forget(tuple.Addr().UnsafePointer())
}

// Name returns the cache's name, or "" before the handle is bound.
func (h *Handle) Name() string {
	if c := h.c.Load(); c != nil {
		return c.name
	}
	return ""
}

func (c *cache) stats() Stats {
	if c.cfg.ttl > 0 {
		c.expireDue(c.now()) // Entries counts live entries only
	}
	s := Stats{
		Name:         c.name,
		Package:      c.pkg,
		File:         c.file,
		Line:         c.line,
		HashErrors:   c.ctr[wire.CtrHashErrors].Load(),
		Mutations:    c.ctr[wire.CtrMutations].Load(),
		Evictions:    c.ctr[wire.CtrEvictions].Load(),
		Expired:      c.ctr[wire.CtrExpired].Load(),
		Entries:      c.ctr[wire.CtrEntries].Load(),
		Bytes:        c.ctr[wire.CtrBytes].Load(),
		TotalCompute: time.Duration(c.ctr[wire.CtrComputeNs].Load()),
		Computes:     c.ctr[wire.CtrComputes].Load(),
	}
	s.ComputeBuckets = make([]int64, len(ComputeBounds))
	var cum int64
	for i := range c.computeHist {
		cum += c.computeHist[i].Load()
		s.ComputeBuckets[i] = cum
	}
	if n := c.ctr[wire.CtrHashN].Load(); n > 0 {
		s.AvgHash = time.Duration(c.ctr[wire.CtrHashNs].Load() / n)
	}
	for _, st := range c.sites.all() {
		file, line, fn := st.where()
		hits, misses, uncached := st.totals()
		ss := SiteStats{File: file, Line: line, Function: fn, Hits: hits, Misses: misses, Uncached: uncached, Reasons: st.recentReasons()}
		s.Hits += ss.Hits
		s.Misses += ss.Misses
		s.Uncached += ss.Uncached
		s.Sites = append(s.Sites, ss)
	}
	c.logMu.Lock()
	for _, r := range c.errLog {
		s.HashErrorLog = append(s.HashErrorLog, HashErrorCount{Err: r.err, Count: r.count.Load(), Site: siteRef(r.site.Load())})
	}
	for _, r := range c.mutLog {
		s.MutationLog = append(s.MutationLog, MutationCount{Path: r.path, Received: siteRef(r.recv), Detected: siteRef(r.detected), Count: r.count.Load()})
	}
	for _, r := range c.storeErrs {
		s.StoreErrorLog = append(s.StoreErrorLog, StoreErrorCount{Tier: wire.TierNames[r.tier], Message: r.msg, Count: r.count.Load()})
	}
	c.logMu.Unlock()
	for _, t := range c.tiers {
		s.Tiers = append(s.Tiers, t.stats())
	}
	slices.SortStableFunc(s.StoreErrorLog, func(a, b StoreErrorCount) int { return int(b.Count - a.Count) })
	slices.SortStableFunc(s.HashErrorLog, func(a, b HashErrorCount) int { return int(b.Count - a.Count) })
	slices.SortStableFunc(s.MutationLog, func(a, b MutationCount) int { return int(b.Count - a.Count) })
	return s
}

func siteRef(s *site) SiteRef {
	if s == nil {
		return SiteRef{}
	}
	file, line, fn := s.where()
	return SiteRef{File: file, Line: line, Function: fn}
}
