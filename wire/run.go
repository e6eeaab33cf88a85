package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A run file holds what one process's caches did, in memory both the
// process and a language server can read: the counters themselves live
// there, so every call is counted the moment it happens and nothing needs
// to be sent or flushed. A process that exits, panics or is killed leaves
// its complete counts behind; a server started later reads them. It is
// the JVM's hsperfdata idea, documented in docs/wire.md.
//
// The file is a header followed by chunks of records. A process appends
// records (a cached function, a call site, a miss reason...) and updates
// the counters inside them in place with atomic adds; it publishes a record
// by writing its first word last. A reader copies the file and parses it:
// it stops at the first unpublished record, skips padding and kinds it
// does not know, and trusts nothing — sizes, offsets, string lengths and
// counts are all checked, so a truncated or hostile file yields an error or
// less data, never a panic, a hang or an allocation beyond the file's size.

// Run-file constants.
const (
	RunMagic      = "cachelns" // the first 8 bytes
	RunVersion    = 1          // the layout version; readers refuse others
	RunHeaderSize = 128        // records of chunk 0 start here
	RunChunkSize  = 64 << 10   // the file grows by whole chunks
	RunMaxChunks  = 256        // at most 16 MiB per process: about 18,000 caches, each called from one site
	RunMaxSize    = RunChunkSize * RunMaxChunks
	RunStripes    = 8 // counter stripes per call site
	RunStripeSize = 64
)

// Header field offsets.
const (
	hdrMagic     = 0  // [8]byte
	hdrVersion   = 8  // u32
	hdrSize      = 12 // u32: RunHeaderSize
	hdrChunkSize = 16 // u32
	hdrChunks    = 20 // u32: chunks in use (written before records in them are published)
	hdrPID       = 24 // u32
	hdrUID       = 28 // u32
	hdrStart     = 32 // i64: unix nanoseconds
	hdrRunID     = 40 // [16]byte: random
	hdrFlags     = 56 // u32: RunFull...
	hdrDropped   = 64 // u64: events that found no room (their calls are still counted)
)

// Header flags.
const (
	RunFull uint32 = 1 << 0 // the file reached RunMaxSize; later records were dropped
)

// RecordKind identifies a record.
type RecordKind uint8

// The record kinds.
const (
	RecPad      RecordKind = 1  // the rest of the chunk is unused
	RecProgram  RecordKind = 2  // who is running: one per file
	RecDef      RecordKind = 3  // a cached function and its counters
	RecSite     RecordKind = 4  // a call site and its striped counters
	RecSource   RecordKind = 5  // a source file's content hash as the program saw it
	RecReason   RecordKind = 6  // a distinct miss reason at a site, with its count
	RecHashErr  RecordKind = 7  // a distinct hash error of a function, with its count
	RecMutation RecordKind = 8  // a distinct mutation of a function's result, with its count
	RecGap      RecordKind = 9  // unused bytes before an aligned record: skipped
	RecTier     RecordKind = 10 // a store behind a function's memory (disk...) and its counters
	RecStoreErr RecordKind = 11 // a distinct error of a function's store, with its count
)

// Record layouts: an 8-byte record header (u32 kind | size<<8, u32 id),
// then the kind's fixed fields, its counters (8-byte aligned) and its
// strings (u16 length + bytes each), padded to a multiple of 8 bytes.
const (
	RecHeader = 8

	// RecProgram: i64 exe modification time, u32 flags; strings below.
	ProgExeMtime = 8
	ProgFlags    = 16
	ProgStrings  = 24

	// RecDef: u32 line, u32 flags, i64 TTL, u32 max entries, u32 pad,
	// then DefCounters i64 counters.
	DefLine     = 8
	DefFlags    = 12
	DefTTL      = 16
	DefMax      = 24
	DefCounters = 32
	DefNCounter = 10

	// RecSite: u32 def, u32 line, 48 bytes pad, then RunStripes stripes
	// of RunStripeSize bytes (hits, misses, uncached i64 each; the rest of
	// a stripe is the runtime's own and readers ignore it). Site
	// records start on a 64-byte boundary so stripes fill cache lines.
	SiteDef      = 8
	SiteLine     = 12
	SiteCounters = 64

	// RecSource: [32]byte SHA-256, i64 size, i64 mtime, u32 flags, u32 pad.
	SrcHash  = 8
	SrcSize  = 40
	SrcMtime = 48
	SrcFlags = 56
	SrcPath  = 64

	// RecReason: u32 site, u8 kind, u8 pad, u16 arg, i64 count, i64 seq
	// (the site's miss number when the reason last happened: orders the
	// reasons of a site by recency).
	ReasonSite  = 8
	ReasonKind  = 12
	ReasonArg   = 14
	ReasonCount = 16
	ReasonSeq   = 24
	ReasonStr   = 32

	// RecHashErr: u32 def, u32 site (the last, updated in place), u16 arg,
	// 6 bytes pad, i64 count.
	ErrDef   = 8
	ErrSite  = 12
	ErrArg   = 16
	ErrCount = 24
	ErrStr   = 32

	// RecMutation: u32 def, u32 recv, u32 detect, u32 pad, i64 count.
	MutDef    = 8
	MutRecv   = 12
	MutDetect = 16
	MutCount  = 24
	MutStr    = 32

	// RecTier: u32 def, u32 tier (an index of TierNames: 1 disk, 2 redis,
	// 3 another shared store), then
	// TierNCounter i64 counters; strings: the tier's location (a
	// directory), what its code fingerprint covers.
	TierDef      = 8
	TierKind     = 12
	TierCounters = 16
	TierNCounter = 6

	// RecStoreErr: u32 def, u32 tier, i64 count; strings: the message.
	StoreErrDef   = 8
	StoreErrTier  = 12
	StoreErrCount = 16
	StoreErrStr   = 24
)

// TierNames name the tiers on the wire, by number.
var TierNames = [...]string{"memory", "disk", "redis", "store"}

// Indexes of a tier's counters.
const (
	TierHits        = iota // calls its entries answered (also counted as hits at their sites)
	TierMisses             // lookups that found nothing (or an expired entry)
	TierWrites             // results stored
	TierWriteBytes         // bytes stored
	TierErrors             // reads, writes and encodings that failed (RecStoreErr says what)
	TierCodeChanged        // misses whose key the function's older code had stored
)

// Def flags.
const (
	DefAllowMutation uint32 = 1 << 0
	DefStrict        uint32 = 1 << 1
)

// Program flags.
const (
	ProgTrimpath uint32 = 1 << 0 // built with -trimpath: file paths are module-relative
	ProgGoBuild  uint32 = 1 << 1 // the executable was made by go run or go test for this run
)

// Source flags.
const (
	// SrcVerified: the hash is of the content the executable was built
	// from (the executable was built by go run or go test, which rebuild
	// on any change, or the file was not modified after the executable).
	SrcVerified uint32 = 1 << 0
)

// Indexes of a def's counters.
const (
	CtrEvictions = iota
	CtrExpired
	CtrMutations
	CtrHashErrors
	CtrComputeNs
	CtrComputes
	CtrHashNs
	CtrHashN
	CtrEntries
	CtrBytes
)

// Miss-reason kinds on the wire, by number (0: "other", reasons beyond the
// per-site bound).
var ReasonKinds = [...]string{"other", "first", "args", "expired", "evicted", "mutated", "cleared", "error", "panicked", "codechanged"}

// RecordWord is a record's first word: kind and size in bytes.
func RecordWord(kind RecordKind, size int) uint32 { return uint32(kind) | uint32(size)<<8 }

// AppendString appends s as a run-file string (u16 length, bytes), cut to
// 4095 bytes at a UTF-8 boundary.
func AppendString(dst []byte, s string) []byte {
	const max = 4095
	if len(s) > max {
		n := max
		for n > 0 && s[n]&0xc0 == 0x80 {
			n--
		}
		s = s[:n]
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// Run is a parsed run file: everything one process reported, with its
// counters summed.
type Run struct {
	PID       int
	UID       int
	Start     time.Time
	ID        [16]byte
	Full      bool  // records were dropped: the file reached its size bound
	Dropped   int64 // events that found no room in the file
	Program   *RunProgram
	Defs      map[uint32]*RunDef
	Sites     map[uint32]*RunSite
	Sources   []RunSource
	Reasons   []RunReason
	HashErrs  []RunHashErr
	Muts      []RunMutation
	Tiers     []RunTier
	StoreErrs []RunStoreErr
}

// RunTier is a store behind one cached function's memory.
type RunTier struct {
	Def      uint32
	Tier     string // a TierNames entry
	Location string
	Basis    string // what the code fingerprint of its entries covers
	Counters [TierNCounter]int64
}

// RunStoreErr is a distinct error of a function's store.
type RunStoreErr struct {
	Def     uint32
	Tier    string
	Message string
	Count   int64
}

// RunProgram describes the process.
type RunProgram struct {
	Exe       string    // the executable's path
	Path      string    // the main package's import path (debug.BuildInfo.Path)
	Module    string    // the main module's path
	Version   string    // the main module's version
	GoVersion string    // runtime.Version()
	Dir       string    // the working directory at start
	VCS       string    // vcs build setting (git...)
	Revision  string    // vcs.revision
	VCSTime   string    // vcs.time
	Modified  bool      // vcs.modified
	ExeMtime  time.Time // the executable's modification time
	Trimpath  bool
	GoBuild   bool // built by go run or go test for this run
}

// RunDef is a cached function.
type RunDef struct {
	ID            uint32
	File          string
	Line          int
	Name          string
	Sig           string
	AllowMutation bool
	Strict        bool
	TTL           time.Duration
	MaxEntries    int
	Counters      [DefNCounter]int64
}

// RunSite is a call site with its counts summed over stripes.
type RunSite struct {
	ID                     uint32
	Def                    uint32
	File                   string
	Line                   int
	Func                   string
	Hits, Misses, Uncached int64
}

// RunSource is a source file's content hash as the process saw it.
type RunSource struct {
	Path     string
	Hash     [32]byte
	Size     int64
	Mtime    time.Time
	Verified bool
}

// RunReason is a distinct miss reason at a site.
type RunReason struct {
	Site  uint32
	Kind  string
	Arg   int
	Path  string
	Text  string
	Count int64
	Seq   int64 // larger: happened more recently (at the same site)
}

// HashErrDesc describes a hash error: what a run file records of it, and
// what the server shows.
type HashErrDesc struct {
	Arg      int
	ArgType  string
	Path     string
	Type     string
	Panic    string
	Suggest  string
	Text     string
	Internal string // set for a fault inside cacheruntime itself (the call ran uncached); Text says what failed
}

// RunHashErr is a distinct hash error.
type RunHashErr struct {
	Def  uint32
	Site uint32
	HashErrDesc
	Count int64
}

// RunMutation is a distinct mutation of a cached result.
type RunMutation struct {
	Def          uint32
	Recv, Detect uint32
	Path         string
	Count        int64
}

// Errors ParseRun returns.
var (
	ErrRunMagic   = errors.New("wire: not a cachelens run file")
	ErrRunVersion = errors.New("wire: unsupported run-file version")
	ErrRunHeader  = errors.New("wire: malformed run-file header")
)

// RunHeaderInfo is what the header alone says; ParseRunHeader reads it
// cheaply to recognize a file before parsing all of it.
type RunHeaderInfo struct {
	PID    int
	UID    int
	Start  time.Time
	ID     [16]byte
	Chunks int
}

// ParseRunHeader checks and decodes the header at the start of b.
func ParseRunHeader(b []byte) (RunHeaderInfo, error) {
	var h RunHeaderInfo
	if len(b) < RunHeaderSize {
		return h, fmt.Errorf("%w: %d bytes", ErrRunHeader, len(b))
	}
	if string(b[:8]) != RunMagic {
		return h, ErrRunMagic
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[hdrVersion:]); v != RunVersion {
		return h, fmt.Errorf("%w: %d (this reader reads %d)", ErrRunVersion, v, RunVersion)
	}
	if le.Uint32(b[hdrSize:]) != RunHeaderSize || le.Uint32(b[hdrChunkSize:]) != RunChunkSize {
		return h, fmt.Errorf("%w: header or chunk size", ErrRunHeader)
	}
	h.Chunks = int(le.Uint32(b[hdrChunks:]))
	if h.Chunks < 1 || h.Chunks > RunMaxChunks {
		return h, fmt.Errorf("%w: %d chunks", ErrRunHeader, h.Chunks)
	}
	h.PID = int(le.Uint32(b[hdrPID:]))
	h.UID = int(le.Uint32(b[hdrUID:]))
	h.Start = time.Unix(0, int64(le.Uint64(b[hdrStart:])))
	copy(h.ID[:], b[hdrRunID:hdrRunID+16])
	return h, nil
}

// ParseRun parses a copy of a run file. It never panics; the memory it
// allocates is bounded by len(b) (at most RunMaxSize bytes are read). A
// record that does not parse ends the parse of its chunk; what was parsed
// before it is returned with the error.
func ParseRun(b []byte) (*Run, error) {
	h, err := ParseRunHeader(b)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	r := &Run{PID: h.PID, UID: h.UID, Start: h.Start, ID: h.ID,
		Full: le.Uint32(b[hdrFlags:])&RunFull != 0, Dropped: int64(le.Uint64(b[hdrDropped:])),
		Defs: map[uint32]*RunDef{}, Sites: map[uint32]*RunSite{}}
	if r.Dropped < 0 {
		r.Dropped = 0
	}
	if len(b) > RunMaxSize {
		b = b[:RunMaxSize]
	}
	var errs []error
	for c := 0; c < h.Chunks; c++ {
		lo, hi := c*RunChunkSize, (c+1)*RunChunkSize
		if lo >= len(b) {
			break
		}
		hi = min(hi, len(b))
		off := lo
		if c == 0 {
			off = RunHeaderSize
		}
		end, err := r.parseChunk(b[lo:hi], off-lo)
		if err != nil {
			errs = append(errs, fmt.Errorf("chunk %d: %w", c, err))
		}
		if end {
			break
		}
	}
	return r, errors.Join(errs...)
}

// parseChunk parses the records of one chunk from off. end reports that an
// unpublished record was met: nothing after it is published yet.
func (r *Run) parseChunk(chunk []byte, off int) (end bool, err error) {
	le := binary.LittleEndian
	for off+RecHeader <= len(chunk) {
		w := le.Uint32(chunk[off:])
		if w == 0 {
			return true, nil
		}
		kind, size := RecordKind(w&0xff), int(w>>8)
		if size < RecHeader || size%8 != 0 || off+size > len(chunk) {
			return true, fmt.Errorf("record at %d: bad size %d", off, size)
		}
		rec := chunk[off : off+size]
		off += size
		if kind == RecPad {
			return false, nil
		}
		if err := r.parseRecord(kind, rec); err != nil {
			return false, fmt.Errorf("%v record: %w", kind, err)
		}
	}
	return false, nil
}

func (k RecordKind) String() string {
	names := [...]string{"", "pad", "program", "def", "site", "source", "reason", "hasherr", "mutation", "gap", "tier", "storeerr"}
	if int(k) < len(names) && k > 0 {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

var errShort = errors.New("record too short")

// strReader reads the strings of a record.
type strReader struct {
	b   []byte
	bad bool
}

func (s *strReader) next() string {
	if s.bad || len(s.b) < 2 {
		s.bad = true
		return ""
	}
	n := int(binary.LittleEndian.Uint16(s.b))
	if 2+n > len(s.b) {
		s.bad = true
		return ""
	}
	v := string(s.b[2 : 2+n])
	s.b = s.b[2+n:]
	return v
}

func tierName(k uint32) string {
	if int(k) < len(TierNames) {
		return TierNames[k]
	}
	return "other"
}

func i64(b []byte, off int) int64  { return int64(binary.LittleEndian.Uint64(b[off:])) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func (r *Run) parseRecord(kind RecordKind, rec []byte) error {
	id := u32(rec, 4)
	switch kind {
	case RecProgram:
		if len(rec) < ProgStrings {
			return errShort
		}
		s := strReader{b: rec[ProgStrings:]}
		flags := u32(rec, ProgFlags)
		p := &RunProgram{ExeMtime: time.Unix(0, i64(rec, ProgExeMtime)), Trimpath: flags&ProgTrimpath != 0, GoBuild: flags&ProgGoBuild != 0}
		p.Exe, p.Path, p.Module, p.Version, p.GoVersion, p.Dir = s.next(), s.next(), s.next(), s.next(), s.next(), s.next()
		p.VCS, p.Revision, p.VCSTime = s.next(), s.next(), s.next()
		p.Modified = s.next() == "true"
		if s.bad {
			return errShort
		}
		r.Program = p
	case RecDef:
		if len(rec) < DefCounters+8*DefNCounter {
			return errShort
		}
		d := &RunDef{ID: id, Line: int(u32(rec, DefLine)), TTL: time.Duration(i64(rec, DefTTL)), MaxEntries: int(int32(u32(rec, DefMax)))}
		flags := u32(rec, DefFlags)
		d.AllowMutation, d.Strict = flags&DefAllowMutation != 0, flags&DefStrict != 0
		for i := range d.Counters {
			d.Counters[i] = i64(rec, DefCounters+8*i)
		}
		s := strReader{b: rec[DefCounters+8*DefNCounter:]}
		d.File, d.Name, d.Sig = s.next(), s.next(), s.next()
		if s.bad {
			return errShort
		}
		r.Defs[id] = d
	case RecSite:
		if len(rec) < SiteCounters+RunStripes*RunStripeSize {
			return errShort
		}
		st := &RunSite{ID: id, Def: u32(rec, SiteDef), Line: int(u32(rec, SiteLine))}
		for i := range RunStripes {
			o := SiteCounters + i*RunStripeSize
			st.Hits += i64(rec, o)
			st.Misses += i64(rec, o+8)
			st.Uncached += i64(rec, o+16)
		}
		s := strReader{b: rec[SiteCounters+RunStripes*RunStripeSize:]}
		st.File, st.Func = s.next(), s.next()
		if s.bad {
			return errShort
		}
		r.Sites[id] = st
	case RecSource:
		if len(rec) < SrcPath {
			return errShort
		}
		src := RunSource{Size: i64(rec, SrcSize), Mtime: time.Unix(0, i64(rec, SrcMtime)), Verified: u32(rec, SrcFlags)&SrcVerified != 0}
		copy(src.Hash[:], rec[SrcHash:SrcHash+32])
		s := strReader{b: rec[SrcPath:]}
		src.Path = s.next()
		if s.bad {
			return errShort
		}
		r.Sources = append(r.Sources, src)
	case RecReason:
		if len(rec) < ReasonStr {
			return errShort
		}
		k := int(rec[ReasonKind])
		if k >= len(ReasonKinds) {
			k = 0
		}
		rr := RunReason{Site: u32(rec, ReasonSite), Kind: ReasonKinds[k], Arg: int(binary.LittleEndian.Uint16(rec[ReasonArg:])), Count: i64(rec, ReasonCount), Seq: i64(rec, ReasonSeq)}
		s := strReader{b: rec[ReasonStr:]}
		rr.Path, rr.Text = s.next(), s.next()
		if s.bad {
			return errShort
		}
		r.Reasons = append(r.Reasons, rr)
	case RecHashErr:
		if len(rec) < ErrStr {
			return errShort
		}
		e := RunHashErr{Def: u32(rec, ErrDef), Site: u32(rec, ErrSite), HashErrDesc: HashErrDesc{Arg: int(binary.LittleEndian.Uint16(rec[ErrArg:]))}, Count: i64(rec, ErrCount)}
		s := strReader{b: rec[ErrStr:]}
		e.ArgType, e.Path, e.Type, e.Panic, e.Suggest, e.Text, e.Internal = s.next(), s.next(), s.next(), s.next(), s.next(), s.next(), s.next()
		if s.bad {
			return errShort
		}
		r.HashErrs = append(r.HashErrs, e)
	case RecMutation:
		if len(rec) < MutStr {
			return errShort
		}
		m := RunMutation{Def: u32(rec, MutDef), Recv: u32(rec, MutRecv), Detect: u32(rec, MutDetect), Count: i64(rec, MutCount)}
		s := strReader{b: rec[MutStr:]}
		m.Path = s.next()
		if s.bad {
			return errShort
		}
		r.Muts = append(r.Muts, m)
	case RecTier:
		if len(rec) < TierCounters+8*TierNCounter {
			return errShort
		}
		t := RunTier{Def: u32(rec, TierDef), Tier: tierName(u32(rec, TierKind))}
		for i := range t.Counters {
			t.Counters[i] = i64(rec, TierCounters+8*i)
		}
		s := strReader{b: rec[TierCounters+8*TierNCounter:]}
		t.Location, t.Basis = s.next(), s.next()
		if s.bad {
			return errShort
		}
		r.Tiers = append(r.Tiers, t)
	case RecStoreErr:
		if len(rec) < StoreErrStr {
			return errShort
		}
		e := RunStoreErr{Def: u32(rec, StoreErrDef), Tier: tierName(u32(rec, StoreErrTier)), Count: i64(rec, StoreErrCount)}
		s := strReader{b: rec[StoreErrStr:]}
		e.Message = s.next()
		if s.bad {
			return errShort
		}
		r.StoreErrs = append(r.StoreErrs, e)
	}
	// Unknown kinds are skipped: newer programs may add them.
	return nil
}
