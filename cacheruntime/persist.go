package cacheruntime

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/codeprint"
	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
	"github.com/cachelens/cachelens/internal/diskstore"
	"github.com/cachelens/cachelens/wire"
)

// Persist keeps the function's results on disk as well as in memory, so
// that later runs of the program — and other programs of the same user
// running the same code — start with them: a call that misses in memory
// reads the disk before it computes (a "disk hit"), and every computed
// result is written. It is Streamlit's persist="disk" and joblib's Memory.
//
// Where: a directory under os.UserCacheDir() ("cachelens"), or
// $CACHELENS_CACHE_DIR, or the one PersistDir names. Entries are keyed by
// the stable 128-bit hash of the arguments (see Hash) under the function's
// name and type and a fingerprint of its code: editing the function — its
// body, or a function, type, variable or constant of its module it names —
// makes its stored entries misses (reason "code changed"). The package
// internal/codeprint documents exactly what the fingerprint covers; a
// program run away from its source fingerprints its executable instead.
// Changing a HashFunc's code, or what a function reads at run time, is
// not seen: clear the entries (`cachelens cache clear`) after such edits.
//
// Results are encoded with encoding/gob, or the Codec WithCodec gives. A
// result gob cannot encode faithfully — a struct with unexported fields
// (gob would drop them), a func or channel, a value holding a cycle — runs
// cached in memory only and is reported ("not persisted: ..."). Gob
// stores an empty slice or map as nil. Interface values need gob.Register
// for their concrete types.
//
// Files are written whole (a temporary file, fsync, rename) and checked
// when read: a torn or corrupted entry is reported and treated as a miss.
// Many processes may share the directory. It is bounded in bytes
// (PersistMaxBytes; 1 GiB by default), evicting the least recently read
// entries, and TTL holds across runs. Handle.Clear and Handle.Forget
// remove entries from disk too.
func Persist() Option {
	return Option{func(c *config) { c.newTier = newDiskTier }}
}

// PersistDir persists results (as Persist does) under dir instead of the
// user's cache directory.
func PersistDir(dir string) Option {
	return Option{func(c *config) { c.newTier, c.persistDir = newDiskTier, dir }}
}

// PersistMaxBytes persists results (as Persist does) in a directory
// bounded to n bytes (default 1 GiB; n <= 0: unbounded). The bound covers
// the whole directory, which all persisted functions share.
func PersistMaxBytes(n int64) Option {
	return Option{func(c *config) { c.newTier, c.persistMax, c.persistMaxSet = newDiskTier, n, true }}
}

// A Codec turns a persisted function's results into bytes and back
// (WithCodec). v is a pointer to the result for a function with one result
// (not counting a final error), and a pointer to a struct of all the
// results (fields P0, P1, ...) otherwise.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// WithCodec persists results (as Persist does) encoded by c instead of
// encoding/gob: JSON, protobuf, or a format of the program's own.
func WithCodec(c Codec) Option {
	return Option{func(cfg *config) { cfg.newTier, cfg.codec = newDiskTier, c }}
}

// DefaultPersistMaxBytes bounds a persist directory unless
// PersistMaxBytes says otherwise.
const DefaultPersistMaxBytes = 1 << 30

// tier is a store behind a cache's memory. The engine asks it on a miss
// in memory before computing, and hands it each computed result.
type tier interface {
	// lookup fills the results tuple at res with what is stored for key.
	// On a miss it returns ok false and, when it knows, why.
	lookup(st *site, key Key, res unsafe.Pointer) (expires time.Time, ok bool, why MissKind)
	// encode returns the bytes to store for the results tuple at res, or
	// nil (reported) if it will not be stored. It runs before any other
	// caller sees the result.
	encode(st *site, res unsafe.Pointer) []byte
	// write stores what encode returned.
	write(st *site, key Key, payload []byte, expires time.Time)
	forget(key Key) bool // reports whether there was an entry
	clear()
	stats() TierStats
}

// TierStats is what a store behind a cache's memory did (Persist's disk).
type TierStats struct {
	Tier        string // "disk"
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

// fromTier answers the miss for the in-flight entry e from the cache's
// tier, or returns nil (with reason set when the tier knows why).
func (c *cache) fromTier(st *site, sp uintptr, sh *shard, e *entry, p unsafe.Pointer, reason *MissReason) (res unsafe.Pointer) {
	res = c.res(e)
	defer func() {
		if r := recover(); r != nil {
			c.internalError(st, "reading a stored result", r)
			reflect.NewAt(c.resT, res).Elem().SetZero()
			res = nil
		}
	}()
	key, ok := c.storeKey(p, e)
	if !ok {
		return nil
	}
	expires, ok, why := c.tier.lookup(st, key, res)
	if !ok {
		if why != 0 && reason.Kind == 0 {
			reason.Kind = why
		}
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
	st.countHit(nil, st.counters(sp), sp)
	st.remember(sp, e)
	if c.checkMut {
		c.mut(e).recv.Store(st)
	}
	return res
}

// diskTier is Persist's tier: a bucket of a diskstore directory.
type diskTier struct {
	c       *cache
	codec   Codec
	one     bool   // one result: the codec sees it, not the tuple
	problem string // why results cannot be encoded, found from the type
	cycles  bool   // results may hold cycles: check values before gob
	bucket  func() (*diskstore.Bucket, error)
	once    sync.Once
	b       *diskstore.Bucket // nil: persisting failed (reported once)
	print   codeprint.Print
	dir     *diskstore.Dir
	ctr     []atomic.Int64 // indexed by the wire.Tier... constants
	loc     string
	maxSize int64
}

// dirs are the process's open persist directories, one per root, so that
// all caches in a directory share its byte count.
var dirs sync.Map // root → *diskstore.Dir

func persistRoot(cfg *config) (string, error) {
	base := cfg.persistDir
	if base == "" {
		var err error
		if base, err = diskstore.Base(); err != nil {
			return "", err
		}
	}
	// The rules keys and entries follow name the directory: entries made
	// under other rules are never read.
	return diskstore.Root(base, KeyVersion), nil
}

func newDiskTier(c *cache, fn reflect.Value) tier {
	d := &diskTier{c: c, codec: c.cfg.codec}
	max := int64(DefaultPersistMaxBytes)
	if c.cfg.persistMaxSet {
		max = c.cfg.persistMax
	}
	results := 0
	for i := range c.resT.NumField() {
		if c.resT.Field(i).Type != errorType {
			results++
		}
	}
	d.one = results == 1
	if d.codec == nil {
		d.problem = gobProblem(c.resT)
		d.cycles = mayCycle(c.resT)
	}
	root, rootErr := persistRoot(&c.cfg)
	d.loc = root
	if rootErr == nil {
		v, _ := dirs.LoadOrStore(root, diskstore.Open(root, max))
		d.dir = v.(*diskstore.Dir)
		if max > 0 {
			d.maxSize = max / 4
		}
	}
	pc := fn.Pointer()
	d.bucket = sync.OnceValues(func() (*diskstore.Bucket, error) {
		if rootErr != nil {
			return nil, rootErr
		}
		prog := currentProgram()
		d.print = codeprint.Of(pc, prog.built, filepath.Join(root, "prints"))
		// The function's identity: its package and what it is bound to (a
		// name the user gave, the variable its cache is assigned to, or
		// the Func call's place), not the wrapped function's name — a
		// closure's name changes with edits around it and with inlining.
		binding := c.cfg.name
		if binding == "" {
			binding = codeprint.Binding(c.file, c.line)
		}
		if binding == "" {
			binding = fmt.Sprintf("%s:%d", filepath.Base(c.file), c.line)
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%s", c.pkg, binding, c.sig)
		id := h.Sum64()
		h.Reset()
		codec := "gob"
		if d.codec != nil {
			codec = fmt.Sprintf("%T", d.codec)
		}
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s", d.print.Sum, shape(c.argsT), shape(c.resT), codec)
		meta := diskstore.Meta{Name: c.name, Binding: binding, Sig: c.sig, File: c.file, Line: c.line, Code: d.print.Basis, Created: time.Now(), KeyRule: KeyVersion}
		if bi, ok := debug.ReadBuildInfo(); ok {
			meta.Program = bi.Path
		}
		if c.cfg.ttl > 0 {
			meta.TTL = c.cfg.ttl.String()
		}
		b, err := d.dir.Bucket(id, h.Sum64(), meta)
		if err == nil {
			d.loc = b.Dir()
		}
		return b, err
	})
	return d
}

// open returns the bucket, or nil after reporting why there is none. The
// first call makes the bucket (fingerprinting the function's code) and
// the tier's record: nothing is done on disk for a cache never called.
func (d *diskTier) open(st *site) *diskstore.Bucket {
	d.once.Do(func() {
		b, err := d.bucket()
		d.ctr = tierRecord(d.c.run, d.c.rid, 1, d.loc, d.print.Basis)
		if err != nil {
			d.fail(st, "persisting: "+err.Error())
		}
		d.b = b
	})
	return d.b
}

func (d *diskTier) fail(st *site, msg string) {
	d.ctr[wire.TierErrors].Add(1)
	d.c.logStoreError(1, msg)
}

func (d *diskTier) value(res unsafe.Pointer) any {
	if d.codec != nil && d.one {
		for i := range d.c.resT.NumField() {
			if f := d.c.resT.Field(i); f.Type != errorType {
				return reflect.NewAt(f.Type, unsafe.Add(res, f.Offset)).Interface()
			}
		}
	}
	return reflect.NewAt(d.c.resT, res).Interface()
}

func (d *diskTier) lookup(st *site, key Key, res unsafe.Pointer) (time.Time, bool, MissKind) {
	b := d.open(st)
	if b == nil {
		return time.Time{}, false, 0
	}
	data, expires, err := b.Get(key)
	switch {
	case err == nil:
	case errors.Is(err, diskstore.ErrNotFound):
		d.ctr[wire.TierMisses].Add(1)
		if b.Stale() && b.InStale(key) {
			d.ctr[wire.TierCodeChanged].Add(1)
			return time.Time{}, false, MissCodeChanged
		}
		return time.Time{}, false, 0
	case errors.Is(err, diskstore.ErrExpired):
		d.ctr[wire.TierMisses].Add(1)
		return time.Time{}, false, MissExpired
	default:
		d.fail(st, err.Error())
		return time.Time{}, false, 0
	}
	if err := d.decode(data, res); err != nil {
		reflect.NewAt(d.c.resT, res).Elem().SetZero()
		d.fail(st, fmt.Sprintf("decoding a stored result: %v (the entry is removed)", err))
		b.Remove(key)
		return time.Time{}, false, 0
	}
	d.ctr[wire.TierHits].Add(1)
	return expires, true, 0
}

func (d *diskTier) decode(data []byte, res unsafe.Pointer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the codec panicked: %v", r)
		}
	}()
	if d.codec != nil {
		return d.codec.Unmarshal(data, d.value(res))
	}
	return gob.NewDecoder(bytes.NewReader(data)).Decode(d.value(res))
}

func (d *diskTier) encode(st *site, res unsafe.Pointer) []byte {
	if d.problem != "" {
		d.fail(st, "not persisted: "+d.problem)
		return nil
	}
	if d.cycles {
		if why := cycleFree(reflect.NewAt(d.c.resT, res).Elem()); why != "" {
			d.fail(st, "not persisted: "+why)
			return nil
		}
	}
	b, err := d.marshal(res)
	if err != nil {
		d.fail(st, "not persisted: "+err.Error())
		return nil
	}
	if d.maxSize > 0 && int64(len(b)) > d.maxSize {
		d.fail(st, fmt.Sprintf("not persisted: results over a quarter of the directory's bound (%d bytes; PersistMaxBytes)", d.maxSize))
		return nil
	}
	return b
}

func (d *diskTier) marshal(res unsafe.Pointer) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the codec panicked: %v", r)
		}
	}()
	if d.codec != nil {
		return d.codec.Marshal(d.value(res))
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(d.value(res)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (d *diskTier) write(st *site, key Key, payload []byte, expires time.Time) {
	b := d.open(st)
	if b == nil {
		return
	}
	if err := b.Put(key, payload, expires); err != nil {
		d.fail(st, err.Error())
		return
	}
	d.ctr[wire.TierWrites].Add(1)
	d.ctr[wire.TierWriteBytes].Add(int64(len(payload)))
}

func (d *diskTier) forget(key Key) bool {
	if b := d.open(nil); b != nil {
		return b.Remove(key)
	}
	return false
}

func (d *diskTier) clear() {
	if b := d.open(nil); b != nil {
		b.Clear()
	}
}

func (d *diskTier) stats() TierStats {
	d.open(nil)
	return TierStats{Tier: "disk", Location: d.loc, Basis: d.print.Basis,
		Hits: d.ctr[wire.TierHits].Load(), Misses: d.ctr[wire.TierMisses].Load(),
		Writes: d.ctr[wire.TierWrites].Load(), WriteBytes: d.ctr[wire.TierWriteBytes].Load(),
		Errors: d.ctr[wire.TierErrors].Load(), CodeChanged: d.ctr[wire.TierCodeChanged].Load()}
}

// gobProblem says why gob cannot encode values of the results tuple t
// faithfully, or "". (Interface values are checked when encoded.)
func gobProblem(t reflect.Type) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == errorType {
			continue // a cached call's error is nil
		}
		if p := gobTypeProblem(f.Type, map[reflect.Type]bool{}); p != "" {
			return p
		}
	}
	return ""
}

var (
	gobEncoderType    = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshaler   = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// marshals reports whether gob encodes t by its own method.
func marshals(t reflect.Type) bool {
	for _, i := range []reflect.Type{gobEncoderType, binaryMarshaler, textMarshalerType} {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

func gobTypeProblem(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen[t] || marshals(t) {
		return ""
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return fmt.Sprintf("%s cannot be encoded by gob (use WithCodec)", t)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return gobTypeProblem(t.Elem(), seen)
	case reflect.Map:
		if p := gobTypeProblem(t.Key(), seen); p != "" {
			return p
		}
		return gobTypeProblem(t.Elem(), seen)
	case reflect.Struct:
		exported := 0
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Sprintf("%s has the unexported field %s, which gob would drop (export it, implement GobEncoder, or use WithCodec)", t, f.Name)
			}
			exported++
			if p := gobTypeProblem(f.Type, seen); p != "" {
				return p
			}
		}
		if exported == 0 {
			return fmt.Sprintf("%s has no fields gob can encode", t)
		}
	}
	return ""
}

// cycleFree returns why gob must not encode v — it holds a cycle (gob
// would recurse until the stack overflows) or too many paths to encode
// (gob writes a shared value once per path) — or "".
func cycleFree(v reflect.Value) string {
	const budget = 1 << 20
	visits := 0
	onPath := map[uintptr]bool{}
	var walk func(v reflect.Value) string
	walk = func(v reflect.Value) string {
		if visits++; visits > budget {
			return fmt.Sprintf("the result has more than %d values to encode (shared or too large)", budget)
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			if v.IsNil() {
				return ""
			}
			if v.Kind() == reflect.Pointer && marshals(v.Type().Elem()) {
				return ""
			}
			p := v.Pointer()
			if v.Kind() != reflect.Slice || v.Len() > 0 {
				if onPath[p] {
					return fmt.Sprintf("the result holds a cycle through %s, which gob cannot encode", v.Type())
				}
				onPath[p] = true
				defer delete(onPath, p)
			}
		}
		if marshals(v.Type()) {
			return ""
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				return walk(v.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				if why := walk(v.Index(i)); why != "" {
					return why
				}
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				if why := walk(it.Key()); why != "" {
					return why
				}
				if why := walk(it.Value()); why != "" {
					return why
				}
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if why := walk(v.Field(i)); why != "" {
					return why
				}
			}
		}
		return ""
	}
	return walk(v)
}

// shape describes t's structure — kinds, field names, element types — so
// that a change to a result's type makes stored entries misses even when
// the type's code is not in the function's fingerprint.
func shape(t reflect.Type) string {
	var b bytes.Buffer
	var walk func(t reflect.Type, depth int)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type, depth int) {
		fmt.Fprintf(&b, "%s:%s(", t.String(), t.Kind())
		if !seen[t] && depth < 16 {
			seen[t] = true
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
				walk(t.Elem(), depth+1)
			case reflect.Map:
				walk(t.Key(), depth+1)
				walk(t.Elem(), depth+1)
			case reflect.Struct:
				for i := range t.NumField() {
					f := t.Field(i)
					fmt.Fprintf(&b, "%s %q ", f.Name, f.Tag)
					walk(f.Type, depth+1)
				}
			}
		}
		b.WriteString(")")
	}
	walk(t, 0)
	return b.String()
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
func tierRecord(r *runfile.File, def uint32, tier uint32, loc, basis string) []atomic.Int64 {
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
