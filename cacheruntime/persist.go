package cacheruntime

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/codeprint"
	"github.com/cachelens/cachelens/internal/binding"
	"github.com/cachelens/cachelens/internal/diskstore"
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
	return Option{func(c *config) { c.newDisk = newDiskTier }}
}

// PersistDir persists results (as Persist does) under dir instead of the
// user's cache directory.
func PersistDir(dir string) Option {
	return Option{func(c *config) { c.newDisk, c.persistDir = newDiskTier, dir }}
}

// PersistMaxBytes persists results (as Persist does) in a directory
// bounded to n bytes (default 1 GiB; n <= 0: unbounded). The bound covers
// the whole directory, which all persisted functions share.
func PersistMaxBytes(n int64) Option {
	return Option{func(c *config) { c.newDisk, c.persistMax, c.persistMaxSet = newDiskTier, n, true }}
}

// A Codec turns a persisted function's results into bytes and back
// (WithCodec). v is a pointer to the result for a function with one result
// (not counting a final error), and a pointer to a struct of all the
// results (fields P0, P1, ...) otherwise.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// WithCodec encodes the results a cache keeps outside the process (on
// disk with Persist, in a Store) with c instead of encoding/gob: JSON,
// protobuf, or a format of the program's own. Alone, it persists results
// as Persist does.
func WithCodec(c Codec) Option {
	return Option{func(cfg *config) { cfg.codec, cfg.codecDisk = c, newDiskTier }}
}

// DefaultPersistMaxBytes bounds a persist directory unless
// PersistMaxBytes says otherwise.
const DefaultPersistMaxBytes = 1 << 30

// encoder turns a cache's results into the bytes its tiers keep and back:
// encoding/gob, or the cache's Codec.
type encoder struct {
	c       *cache
	codec   Codec
	name    string // "gob" or the codec's type: part of the code version
	one     bool   // one result: the codec sees it, not the tuple
	problem string // why results cannot be encoded, found from the type
	cycles  bool   // results may hold cycles: check values before gob
	gd      gobDecoder
}

func newEncoder(c *cache) *encoder {
	e := &encoder{c: c, codec: c.cfg.codec, name: "gob"}
	results := 0
	for i := range c.resT.NumField() {
		if c.resT.Field(i).Type != errorType {
			results++
		}
	}
	e.one = results == 1
	if e.codec == nil {
		e.problem = gobProblem(c.resT)
		e.cycles = mayCycle(c.resT)
	} else {
		e.name = fmt.Sprintf("%T", e.codec)
	}
	return e
}

// value is what the codec encodes for the results tuple at res.
func (e *encoder) value(res unsafe.Pointer) any {
	if e.codec != nil && e.one {
		for i := range e.c.resT.NumField() {
			if f := e.c.resT.Field(i); f.Type != errorType {
				return reflect.NewAt(f.Type, unsafe.Add(res, f.Offset)).Interface()
			}
		}
	}
	return reflect.NewAt(e.c.resT, res).Interface()
}

// encode returns the bytes for the results tuple at res, or why it will
// not be kept outside the process.
func (e *encoder) encode(res unsafe.Pointer) (b []byte, why string) {
	if e.problem != "" {
		return nil, e.problem
	}
	if e.cycles {
		if why := cycleFree(reflect.NewAt(e.c.resT, res).Elem()); why != "" {
			return nil, why
		}
	}
	defer func() {
		if r := recover(); r != nil {
			b, why = nil, fmt.Sprintf("the codec panicked: %v", r)
		}
	}()
	if e.codec != nil {
		b, err := e.codec.Marshal(e.value(res))
		if err != nil {
			return nil, err.Error()
		}
		return b, ""
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e.value(res)); err != nil {
		return nil, err.Error()
	}
	return buf.Bytes(), ""
}

// decode fills the (zeroed) results tuple at res from data.
func (e *encoder) decode(data []byte, res unsafe.Pointer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the codec panicked: %v", r)
		}
	}()
	if e.codec != nil {
		return e.codec.Unmarshal(data, e.value(res))
	}
	return e.gd.decode(data, e.value(res))
}

// gobDecoder decodes the gob streams of one cache's entries. Each entry is
// a stream of its own — the descriptions of its types, then its value —
// and a new gob.Decoder compiles its decoding for those types, which costs
// more than decoding a small value. Entries of one cache usually carry
// the same descriptions byte for byte, so the decoder that read one keeps
// reading the next entries' values alone while the descriptions match.
type gobDecoder struct {
	mu      sync.Mutex
	prelude []byte // the type descriptions dec has read
	r       sliceReader
	dec     *gob.Decoder
}

// decode decodes the stream data into v, a pointer.
func (g *gobDecoder) decode(data []byte, v any) error {
	split := gobValueStart(data)
	if split < 0 || !g.mu.TryLock() {
		// Unusual streams, and decodes while another runs: on their own.
		return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
	}
	defer g.mu.Unlock()
	if g.dec != nil && bytes.Equal(g.prelude, data[:split]) {
		g.r.reset(data[split:])
		if err := g.dec.Decode(v); err == nil && g.r.empty() {
			return nil
		}
		// Whatever went wrong, decode this one afresh.
		g.dec = nil
		reflect.ValueOf(v).Elem().SetZero()
	}
	g.r.reset(data)
	dec := gob.NewDecoder(&g.r)
	err := dec.Decode(v)
	if err == nil && g.r.empty() {
		g.dec, g.prelude = dec, append(g.prelude[:0], data[:split]...)
	} else {
		g.dec = nil
	}
	return err
}

// gobValueStart returns where the value message of a gob stream of one
// value starts (after the messages that describe types), or -1 if the
// stream is not of that shape. A message is a length (gob's unsigned
// encoding) and a body that starts with a type id: negative for a type's
// description, positive for a value.
func gobValueStart(b []byte) int {
	for off := 0; off < len(b); {
		n, w := gobUint(b[off:])
		if w == 0 || n == 0 || n > uint64(len(b)-off-w) {
			return -1
		}
		body := b[off+w : off+w+int(n)]
		id, iw := gobUint(body)
		if iw == 0 {
			return -1
		}
		if id&1 == 0 { // a non-negative id: the value
			if off+w+int(n) != len(b) {
				return -1 // more than one value
			}
			return off
		}
		off += w + int(n)
	}
	return -1
}

// gobUint decodes gob's unsigned integer at the start of b: a byte below
// 128 is the value; otherwise it is minus the count of big-endian bytes
// that follow. It returns the value and the bytes read (0: malformed).
func gobUint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0
	}
	var x uint64
	for _, c := range b[1 : 1+n] {
		x = x<<8 | uint64(c)
	}
	return x, 1 + n
}

// sliceReader reads a byte slice; as an io.ByteReader it keeps gob from
// buffering past the message it reads.
type sliceReader struct{ b []byte }

func (r *sliceReader) reset(b []byte) { r.b = b }
func (r *sliceReader) empty() bool    { return len(r.b) == 0 }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *sliceReader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

// identity is what names a cached function's entries outside the
// process: the function (its package and what its cache is bound to) and
// the version of its code.
type identity struct {
	id, code uint64
	binding  string
	print    codeprint.Print
	program  string
}

// identify computes c's identity (once: it reads source files).
func (c *cache) identify(fn reflect.Value) func() identity {
	pc := fn.Pointer()
	return sync.OnceValue(func() identity {
		var idn identity
		// Its package and what it is bound to (a name the user gave, the
		// variable its cache is assigned to, or the Func call's place),
		// not the wrapped function's name — a closure's name changes with
		// edits around it and with inlining.
		idn.binding = c.cfg.name
		if idn.binding == "" {
			idn.binding = binding.Of(c.file, c.line)
		}
		if idn.binding == "" {
			idn.binding = fmt.Sprintf("%s:%d", filepath.Base(c.file), c.line)
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%s", c.pkg, idn.binding, c.sig)
		idn.id = h.Sum64()
		prog := currentProgram()
		prints := ""
		if root, err := persistRoot(&c.cfg); err == nil {
			prints = filepath.Join(root, "prints")
		}
		idn.print = codeprint.Of(pc, prog.built, prints)
		h.Reset()
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s", idn.print.Sum, shape(c.argsT), shape(c.resT), c.enc.name)
		idn.code = h.Sum64()
		if bi, ok := debug.ReadBuildInfo(); ok {
			idn.program = bi.Path
		}
		return idn
	})
}

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
