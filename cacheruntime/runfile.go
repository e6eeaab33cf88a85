package cacheruntime

import (
	"sync/atomic"
	"time"

	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
	"github.com/cachelens/cachelens/wire"
)

// The records of this process's caches. Every builder works on a nil
// File too, and when the file is full: the counters are then in heap
// memory of their own, and only the language server does not see them.

// defRecord describes cache c and returns its counters.
func defRecord(r *runfile.File, c *cache) []atomic.Int64 {
	if r == nil {
		return runfile.Counters64(nil, 0, wire.DefNCounter)
	}
	c.rid = r.NextID()
	b := runfile.NewBody(wire.DefCounters + 8*wire.DefNCounter)
	b.U32(wire.DefLine, uint32(c.line))
	var flags uint32
	if c.cfg.allowMutation {
		flags |= wire.DefAllowMutation
	}
	if c.strict {
		flags |= wire.DefStrict
	}
	b.U32(wire.DefFlags, flags)
	b.I64(wire.DefTTL, int64(c.cfg.ttl))
	b.U32(wire.DefMax, uint32(max(c.cfg.maxEntries, 0)))
	b = b.Str(c.file).Str(c.name).Str(c.sig)
	rec := r.Record(wire.RecDef, c.rid, b, 8)
	return runfile.Counters64(rec, wire.DefCounters, wire.DefNCounter)
}

// siteRecord describes call site s of the cache with record id def and
// points its counters into the record.
func siteRecord(r *runfile.File, s *site, def uint32) {
	if r == nil {
		s.stripes = make([]counters, nStripes)
		return
	}
	s.rid = r.NextID()
	file, line, fn := s.where()
	b := runfile.NewBody(wire.SiteCounters + wire.RunStripes*wire.RunStripeSize)
	b.U32(wire.SiteDef, def)
	b.U32(wire.SiteLine, uint32(line))
	b = b.Str(file).Str(fn)
	rec := r.Record(wire.RecSite, s.rid, b, 64)
	if rec == nil {
		s.stripes = make([]counters, nStripes)
		return
	}
	s.stripes = runfile.At[[nStripes]counters](rec, wire.SiteCounters)[:]
}

// reasonRecord records a distinct miss reason at site s (kind 0 and an
// empty text stand for reasons beyond the per-site bound) and returns its
// count and its recency (the site's miss number when it last happened).
func reasonRecord(r *runfile.File, s *site, reason MissReason, text string) (count, seq *atomic.Int64) {
	if r == nil {
		return new(atomic.Int64), new(atomic.Int64)
	}
	b := runfile.NewBody(wire.ReasonStr)
	b.U32(wire.ReasonSite, s.rid)
	b.U8(wire.ReasonKind, byte(reason.Kind))
	b.U16(wire.ReasonArg, uint16(min(reason.Arg, 0xffff)))
	b = b.Str(reason.Path).Str(text)
	rec := r.Record(wire.RecReason, 0, b, 8)
	if rec == nil {
		r.Dropped()
		return new(atomic.Int64), new(atomic.Int64)
	}
	c := runfile.Counters64(rec, wire.ReasonCount, 2)
	return &c[0], &c[1]
}

// hashErrRecord records a distinct hash error of the cache with record id
// def, first met at st.
func hashErrRecord(r *runfile.File, def uint32, he HashError, st *site) *hashErrRec {
	rec := &hashErrRec{err: he, rsite: new(uint32)}
	rec.site.Store(st)
	if r == nil {
		rec.count = new(atomic.Int64)
		return rec
	}
	b := runfile.NewBody(wire.ErrStr)
	b.U32(wire.ErrDef, def)
	if st != nil {
		b.U32(wire.ErrSite, st.rid)
	}
	b.U16(wire.ErrArg, uint16(min(he.Arg, 0xffff)))
	b = b.Str(he.ArgType).Str(he.Path).Str(he.Type).Str(he.Panic).Str(he.Suggest).Str(he.Detail()).Str(he.Internal)
	m := r.Record(wire.RecHashErr, 0, b, 8)
	if m == nil {
		r.Dropped()
		rec.count = new(atomic.Int64)
		return rec
	}
	rec.count = &runfile.Counters64(m, wire.ErrCount, 1)[0]
	rec.rsite = runfile.At[uint32](m, wire.ErrSite)
	return rec
}

// mutRecord records a distinct mutation of the results of the cache with
// record id def.
func mutRecord(r *runfile.File, def uint32, path string, recv, det *site) *mutRec {
	rec := &mutRec{path: path, recv: recv, detected: det}
	if r == nil {
		rec.count = new(atomic.Int64)
		return rec
	}
	b := runfile.NewBody(wire.MutStr)
	b.U32(wire.MutDef, def)
	if recv != nil {
		b.U32(wire.MutRecv, recv.rid)
	}
	if det != nil {
		b.U32(wire.MutDetect, det.rid)
	}
	b = b.Str(path)
	m := r.Record(wire.RecMutation, 0, b, 8)
	if m == nil {
		r.Dropped()
		rec.count = new(atomic.Int64)
		return rec
	}
	rec.count = &runfile.Counters64(m, wire.MutCount, 1)[0]
	return rec
}

// programRecord describes the process.
func programRecord(r *runfile.File, p programInfo) {
	b := runfile.NewBody(wire.ProgStrings)
	b.I64(wire.ProgExeMtime, p.exeMtime.UnixNano())
	var flags uint32
	if p.trimpath {
		flags |= wire.ProgTrimpath
	}
	if p.goBuild {
		flags |= wire.ProgGoBuild
	}
	b.U32(wire.ProgFlags, flags)
	modified := "false"
	if p.modified {
		modified = "true"
	}
	b = b.Str(p.exe).Str(p.path).Str(p.module).Str(p.version).Str(p.goVersion).Str(p.dir).Str(p.vcs).Str(p.revision).Str(p.vcsTime).Str(modified)
	r.Record(wire.RecProgram, 0, b, 8)
}

// sourceRecord records the content hash of a source file as the process
// read it.
func sourceRecord(r *runfile.File, path string, sum [32]byte, size int64, mtime time.Time, verified bool) {
	b := runfile.NewBody(wire.SrcPath)
	b.Bytes(wire.SrcHash, sum[:])
	b.I64(wire.SrcSize, size)
	b.I64(wire.SrcMtime, mtime.UnixNano())
	if verified {
		b.U32(wire.SrcFlags, wire.SrcVerified)
	}
	b = b.Str(path)
	if r.Record(wire.RecSource, 0, b, 8) == nil {
		r.Dropped()
	}
}
