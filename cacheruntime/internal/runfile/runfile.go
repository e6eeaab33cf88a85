// Package runfile lays out a process's run file: the memory cacheruntime's
// caches count in, a file in the per-user runs directory mapped into memory
// and shared with any language server that reads it (see wire/run.go for
// the layout). Counters are updated in place with atomic adds, so a call is
// counted the moment it happens; a process that ends by any means leaves
// complete counts behind, and no Flush is needed.
//
// When no file can be used (reporting is off, the directory is not safe,
// the platform has no shared mappings), the same records are laid out in
// ordinary heap memory (InHeap): the caches work and count the same way,
// and only the language server does not see them.
//
// It is cacheruntime's and holds the package's shared-memory code; what
// each record says is cacheruntime's business.
package runfile

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

// A File is a run file, or its stand-in in heap memory. A nil *File is a
// valid stand-in that has no records.
type File struct {
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

// InHeap lays the records out in heap memory; note says why there is no
// shared file.
func InHeap(note string) *File {
	r := &File{chunks: [][]byte{heapChunk()}, off: wire.RunHeaderSize, start: time.Now(), note: note}
	rand.Read(r.id[:])
	r.writeHeader()
	return r
}

// writeHeader fills chunk 0's header.
func (r *File) writeHeader() {
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

func (r *File) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.chunks[0][off])) }

func (r *File) droppedWord() *uint64 { return (*uint64)(unsafe.Pointer(&r.chunks[0][64])) }

// Dropped counts an event (a miss reason, hash error or mutation) that got
// no record because the file is full; the call itself is still counted.
func (r *File) Dropped() { atomic.AddUint64(r.droppedWord(), 1) }

// DroppedCount returns how many events got no record.
func (r *File) DroppedCount() int64 { return int64(atomic.LoadUint64(r.droppedWord())) }

// Shared reports whether a language server can read the counters.
func (r *File) Shared() bool { return r != nil && r.mapped }

// Path returns the run file's path ("" in heap memory).
func (r *File) Path() string { return r.path }

// Note says why the file is not shared, or what else a debug log should
// know about where it is ("" if nothing).
func (r *File) Note() string { return r.note }

// OSFile returns the open run file (nil in heap memory), for handing its
// descriptor to a collector.
func (r *File) OSFile() *os.File { return r.file }

// Start returns when the file was created.
func (r *File) Start() time.Time { return r.start }

// ID returns the run's random identity.
func (r *File) ID() [16]byte { return r.id }

// Record allocates a record of the given kind holding body (the bytes
// after the 8-byte record header, with room for counters left zero),
// aligned to align bytes, publishes it and returns its memory. It returns
// nil when the file is full; the caller then counts in heap memory of its
// own.
func (r *File) Record(kind wire.RecordKind, id uint32, body []byte, align int) []byte {
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
func (r *File) grow() bool {
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

// NextID returns a record id unique in the file.
func (r *File) NextID() uint32 { return r.ids.Add(1) }

// Body builds a record body: fixed bytes, then strings. Offsets are those
// of wire's record layout (counted from the record's start).
type Body []byte

// NewBody returns a body with fixed bytes up to offset fixed.
func NewBody(fixed int) Body { return make(Body, fixed-wire.RecHeader, fixed-wire.RecHeader+64) }

// U32 sets the 32-bit field at off.
func (b Body) U32(off int, v uint32) { binary.LittleEndian.PutUint32(b[off-wire.RecHeader:], v) }

// U16 sets the 16-bit field at off.
func (b Body) U16(off int, v uint16) { binary.LittleEndian.PutUint16(b[off-wire.RecHeader:], v) }

// U8 sets the byte at off.
func (b Body) U8(off int, v byte) { b[off-wire.RecHeader] = v }

// I64 sets the 64-bit field at off.
func (b Body) I64(off int, v int64) { binary.LittleEndian.PutUint64(b[off-wire.RecHeader:], uint64(v)) }

// Bytes sets the bytes at off.
func (b Body) Bytes(off int, v []byte) { copy(b[off-wire.RecHeader:], v) }

// Str appends a string.
func (b Body) Str(s string) Body { return wire.AppendString(b, s) }

// Counters64 returns n int64 counters at off in rec (or, without a
// record, in heap memory).
func Counters64(rec []byte, off, n int) []atomic.Int64 {
	if rec == nil {
		return make([]atomic.Int64, n)
	}
	return unsafe.Slice((*atomic.Int64)(unsafe.Pointer(&rec[off])), n)
}

// At returns the T that lives at off in rec: counters laid out in the
// record (off must be aligned for T, and T must fit).
func At[T any](rec []byte, off int) *T {
	var zero T
	_ = rec[off+int(unsafe.Sizeof(zero))-1]
	return (*T)(unsafe.Pointer(&rec[off]))
}
