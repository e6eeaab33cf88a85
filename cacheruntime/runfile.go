package cacheruntime

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/wire"
)

// A runFile is the memory this process's caches count in: a run file in
// the per-user runs directory, mapped into memory and shared with any
// language server that reads it (see wire/run.go for the layout). Counters
// are updated in place with atomic adds, so a call is counted the moment it
// happens, at the cost of a heap counter; a process that ends by any means
// leaves complete counts behind, and no Flush is needed.
//
// When no file can be used (reporting is off, the directory is not safe,
// the platform has no shared mappings), the same records are laid out in
// ordinary heap memory: the caches work and count the same way, and only
// the language server does not see them.
type runFile struct {
	mu     sync.Mutex
	chunks [][]byte
	off    int // next free byte in the last chunk
	file   *os.File
	path   string
	mapped bool // chunks are shared mappings of file (else heap)
	full   bool
	ids    atomic.Uint32
	start  time.Time
	id     [16]byte
	note   string // why there is no shared file, for the debug log
}

// heapChunk returns zeroed, 8-byte-aligned memory for one chunk.
func heapChunk() []byte {
	w := make([]uint64, wire.RunChunkSize/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), wire.RunChunkSize)
}

// newHeapRun lays the records out in heap memory.
func newHeapRun(note string) *runFile {
	r := &runFile{chunks: [][]byte{heapChunk()}, off: wire.RunHeaderSize, start: time.Now(), note: note}
	rand.Read(r.id[:])
	r.writeHeader()
	return r
}

// writeHeader fills chunk 0's header.
func (r *runFile) writeHeader() {
	h := r.chunks[0]
	le := binary.LittleEndian
	copy(h, wire.RunMagic)
	le.PutUint32(h[8:], wire.RunVersion)
	le.PutUint32(h[12:], wire.RunHeaderSize)
	le.PutUint32(h[16:], wire.RunChunkSize)
	le.PutUint32(h[24:], uint32(os.Getpid()))
	le.PutUint32(h[28:], uint32(os.Getuid()))
	le.PutUint64(h[32:], uint64(r.start.UnixNano()))
	copy(h[40:56], r.id[:])
	atomic.StoreUint32(r.u32(20), uint32(len(r.chunks)))
}

func (r *runFile) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.chunks[0][off])) }

// dropped counts an event (a miss reason, hash error or mutation) that got
// no record because the file is full; the call itself is still counted.
func (r *runFile) dropped() {
	atomic.AddUint64((*uint64)(unsafe.Pointer(&r.chunks[0][64])), 1)
}

// shared reports whether a language server can read the counters.
func (r *runFile) shared() bool { return r != nil && r.mapped }

// record allocates a record of the given kind holding body (the bytes after
// the 8-byte record header, with room for counters left zero), aligned to
// align bytes, publishes it and returns its memory. It returns nil when the
// file is full; the caller then counts in heap memory of its own.
func (r *runFile) record(kind wire.RecordKind, id uint32, body []byte, align int) []byte {
	size := (wire.RecHeader + len(body) + 7) &^ 7
	if size > wire.RunChunkSize-wire.RunHeaderSize {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return nil
	}
	pad := func() int {
		if align <= 8 {
			return 0
		}
		return (align - r.off%align) % align
	}
	if r.off+pad()+size > wire.RunChunkSize {
		if !r.grow() {
			r.full = true
			atomic.OrUint32(r.u32(56), wire.RunFull)
			return nil
		}
	}
	if p := pad(); p > 0 {
		// A gap of a kind readers skip.
		gap := r.chunks[len(r.chunks)-1][r.off : r.off+p]
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&gap[0])), wire.RecordWord(wire.RecGap, p))
		r.off += p
	}
	rec := r.chunks[len(r.chunks)-1][r.off : r.off+size : r.off+size]
	r.off += size
	binary.LittleEndian.PutUint32(rec[4:], id)
	copy(rec[wire.RecHeader:], body)
	// Publish last: a reader that sees the kind sees the contents.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&rec[0])), wire.RecordWord(kind, size))
	return rec
}

// grow starts a new chunk, after marking the rest of the current one
// unused. r.mu is held.
func (r *runFile) grow() bool {
	if len(r.chunks) >= wire.RunMaxChunks {
		return false
	}
	var c []byte
	if r.mapped {
		var err error
		if c, err = mapChunk(r.file, len(r.chunks)); err != nil {
			return false
		}
	} else {
		c = heapChunk()
	}
	last := r.chunks[len(r.chunks)-1]
	r.chunks = append(r.chunks, c)
	atomic.StoreUint32(r.u32(20), uint32(len(r.chunks)))
	if rest := wire.RunChunkSize - r.off; rest >= wire.RecHeader {
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&last[r.off])), wire.RecordWord(wire.RecPad, rest))
	}
	r.off = 0
	return true
}

// nextID returns a record id unique in the file.
func (r *runFile) nextID() uint32 { return r.ids.Add(1) }

// body builds a record body: fixed bytes, then strings.
type body []byte

func newBody(fixed int) body { return make(body, fixed-wire.RecHeader, fixed-wire.RecHeader+64) }

func (b body) u32(off int, v uint32) { binary.LittleEndian.PutUint32(b[off-wire.RecHeader:], v) }
func (b body) i64(off int, v int64)  { binary.LittleEndian.PutUint64(b[off-wire.RecHeader:], uint64(v)) }
func (b body) str(s string) body     { return wire.AppendString(b, s) }

// counters64 returns n int64 counters at off in rec (or, without a record,
// in heap memory).
func counters64(rec []byte, off, n int) []atomic.Int64 {
	if rec == nil {
		return make([]atomic.Int64, n)
	}
	return unsafe.Slice((*atomic.Int64)(unsafe.Pointer(&rec[off])), n)
}

// The records of this process's caches. Every builder works on a nil
// runFile too, and when the file is full: the counters are then in heap
// memory of their own, and only the language server does not see them.

// defRecord describes cache c and returns its counters.
func (r *runFile) defRecord(c *cache) []atomic.Int64 {
	if r == nil {
		return counters64(nil, 0, wire.DefNCounter)
	}
	c.rid = r.nextID()
	b := newBody(wire.DefCounters + 8*wire.DefNCounter)
	b.u32(wire.DefLine, uint32(c.line))
	var flags uint32
	if c.cfg.allowMutation {
		flags |= wire.DefAllowMutation
	}
	if c.strict {
		flags |= wire.DefStrict
	}
	b.u32(wire.DefFlags, flags)
	b.i64(wire.DefTTL, int64(c.cfg.ttl))
	b.u32(wire.DefMax, uint32(max(c.cfg.maxEntries, 0)))
	b = b.str(c.file).str(c.name).str(c.sig)
	rec := r.record(wire.RecDef, c.rid, b, 8)
	return counters64(rec, wire.DefCounters, wire.DefNCounter)
}

// siteRecord describes call site s of the cache with record id def and
// points its counters into the record.
func (r *runFile) siteRecord(s *site, def uint32) {
	if r == nil {
		s.stripes = new([nStripes]counters)
		return
	}
	s.rid = r.nextID()
	file, line, fn := s.where()
	b := newBody(wire.SiteCounters + wire.RunStripes*wire.RunStripeSize)
	b.u32(wire.SiteDef, def)
	b.u32(wire.SiteLine, uint32(line))
	b = b.str(file).str(fn)
	rec := r.record(wire.RecSite, s.rid, b, 64)
	if rec == nil {
		s.stripes = new([nStripes]counters)
		return
	}
	s.stripes = (*[nStripes]counters)(unsafe.Pointer(&rec[wire.SiteCounters]))
}

// reasonRecord records a distinct miss reason at site s (kind 0 and an
// empty text stand for reasons beyond the per-site bound) and returns its
// count and its recency (the site's miss number when it last happened).
func (r *runFile) reasonRecord(s *site, reason MissReason, text string) (count, seq *atomic.Int64) {
	if r == nil {
		return new(atomic.Int64), new(atomic.Int64)
	}
	b := newBody(wire.ReasonStr)
	b.u32(wire.ReasonSite, s.rid)
	b[wire.ReasonKind-wire.RecHeader] = byte(reason.Kind)
	binary.LittleEndian.PutUint16(b[wire.ReasonArg-wire.RecHeader:], uint16(min(reason.Arg, 0xffff)))
	b = b.str(reason.Path).str(text)
	rec := r.record(wire.RecReason, 0, b, 8)
	if rec == nil {
		r.dropped()
		return new(atomic.Int64), new(atomic.Int64)
	}
	c := counters64(rec, wire.ReasonCount, 2)
	return &c[0], &c[1]
}

// hashErrRecord records a distinct hash error of the cache with record id
// def, first met at st.
func (r *runFile) hashErrRecord(def uint32, he HashError, st *site) *hashErrRec {
	rec := &hashErrRec{err: he, rsite: new(uint32)}
	rec.site.Store(st)
	if r == nil {
		rec.count = new(atomic.Int64)
		return rec
	}
	b := newBody(wire.ErrStr)
	b.u32(wire.ErrDef, def)
	if st != nil {
		b.u32(wire.ErrSite, st.rid)
	}
	binary.LittleEndian.PutUint16(b[wire.ErrArg-wire.RecHeader:], uint16(min(he.Arg, 0xffff)))
	b = b.str(he.ArgType).str(he.Path).str(he.Type).str(he.Panic).str(he.Suggest).str(he.Detail()).str(he.Internal)
	m := r.record(wire.RecHashErr, 0, b, 8)
	if m == nil {
		r.dropped()
		rec.count = new(atomic.Int64)
		return rec
	}
	rec.count = &counters64(m, wire.ErrCount, 1)[0]
	rec.rsite = (*uint32)(unsafe.Pointer(&m[wire.ErrSite]))
	return rec
}

// mutRecord records a distinct mutation of the results of the cache with
// record id def.
func (r *runFile) mutRecord(def uint32, path string, recv, det *site) *mutRec {
	rec := &mutRec{path: path, recv: recv, detected: det}
	if r == nil {
		rec.count = new(atomic.Int64)
		return rec
	}
	b := newBody(wire.MutStr)
	b.u32(wire.MutDef, def)
	if recv != nil {
		b.u32(wire.MutRecv, recv.rid)
	}
	if det != nil {
		b.u32(wire.MutDetect, det.rid)
	}
	b = b.str(path)
	m := r.record(wire.RecMutation, 0, b, 8)
	if m == nil {
		r.dropped()
		rec.count = new(atomic.Int64)
		return rec
	}
	rec.count = &counters64(m, wire.MutCount, 1)[0]
	return rec
}

// programRecord describes the process.
func (r *runFile) programRecord(p programInfo) {
	b := newBody(wire.ProgStrings)
	b.i64(wire.ProgExeMtime, p.exeMtime.UnixNano())
	var flags uint32
	if p.trimpath {
		flags |= wire.ProgTrimpath
	}
	if p.goBuild {
		flags |= wire.ProgGoBuild
	}
	b.u32(wire.ProgFlags, flags)
	modified := "false"
	if p.modified {
		modified = "true"
	}
	b = b.str(p.exe).str(p.path).str(p.module).str(p.version).str(p.goVersion).str(p.dir).str(p.vcs).str(p.revision).str(p.vcsTime).str(modified)
	r.record(wire.RecProgram, 0, b, 8)
}

// sourceRecord records the content hash of a source file as the process
// read it.
func (r *runFile) sourceRecord(path string, sum [32]byte, size int64, mtime time.Time, verified bool) {
	b := newBody(wire.SrcPath)
	copy(b[wire.SrcHash-wire.RecHeader:], sum[:])
	b.i64(wire.SrcSize, size)
	b.i64(wire.SrcMtime, mtime.UnixNano())
	if verified {
		b.u32(wire.SrcFlags, wire.SrcVerified)
	}
	b = b.str(path)
	if r.record(wire.RecSource, 0, b, 8) == nil {
		r.dropped()
	}
}
