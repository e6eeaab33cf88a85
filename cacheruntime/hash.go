package cacheruntime

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"sync"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/bulk"
	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
)

// Hashing is compiled: for each type a tree of small functions that read the
// value through an unsafe.Pointer, so hashing a value costs no reflection
// and no allocation. A hashSet holds the compiled functions for one mode and
// one set of HashFunc options.
//
// Key mode computes two independent 64-bit lanes (so two keys are confused
// only if both collide) with value semantics: floats by value (-0 == +0,
// one NaN), strings and slices by content, pointers followed, maps
// independent of order. func, chan and unsafe.Pointer values cannot be
// hashed. Fingerprint mode (the mutation check on results) computes one lane
// with representation semantics: floats bit for bit, strings by identity
// (they are immutable), funcs and chans by identity, and a value of a type a
// HashFunc covers by its own memory (the HashFunc itself runs only for
// arguments).
//
// Values of types that cannot refer to themselves (no recursive type and no
// interface inside) are hashed by direct recursion, which the type bounds.
// References to anything that may cycle — pointers, slices and maps of
// recursive types, interfaces holding them — become objects of an explicit
// walk (walk.go), so that depth costs heap, never goroutine stack, and
// cycles and sharing are handled in time linear in the value's size.

type hashMode uint8

const (
	modeKey hashMode = iota // two lanes, value semantics, unhashable kinds fail
	modeFP                  // one lane, representation semantics, never fails
)

const (
	k1 = 0xa0761d6478bd642f
	k2 = 0xe7037ed1a0b428db
	k3 = 0x8ebc6af09c88c6e3
	k4 = 0x589965cc75374cc3
	k5 = 0x1d8e4e27c47d124f
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashFn hashes the value at p into h.
type hashFn func(h *hstate, p unsafe.Pointer)

// refKey identifies a referenced object during a walk: its address, its
// type and, for slices, its length (slices of one backing array with
// different lengths are different values). It holds addresses as numbers:
// keys are only compared, never followed, and tables of them stay
// pointer-free, which the garbage collector need not scan.
type refKey struct {
	p uintptr
	t uintptr // the runtime type descriptor (typePtr)
	n int
}

func refKeyOf(p unsafe.Pointer, t uintptr, n int) refKey {
	return refKey{uintptr(p), t, n}
}

// hstate is the running state of one hash computation. It lives on the
// caller's stack; the walk state is taken from a pool only for values that
// reference objects of types that may cycle.
type hstate struct {
	a, b uint64
	two  bool
	set  *hashSet

	w      *walk        // explicit walk of referenced objects; nil until needed
	fail   *hashFailure // set before aborting
	graph  bool         // number objects in visit order instead of memoizing
	active []reflect.Type
	rec    *userRecord // records HashFunc results for the miss-detail tree
	replay bool        // take HashFunc results from rec instead of calling them
	keep   *walk       // a walk whose memo outlives this hash (detail trees)
}

// hashFailure describes why a value could not be hashed.
type hashFailure struct {
	t        reflect.Type // the unhashable type, or the type whose HashFunc panicked
	panicked any          // value a HashFunc panicked with
	complex  bool         // the value graph was too large to walk
	internal any          // a panic inside cacheruntime itself
}

// abortHash is the panic value used to unwind a failed hash.
type abortHash struct{}

func (h *hstate) init(set *hashSet, two bool) {
	h.a, h.b, h.two, h.set = k1, k2, two, set
}

func (h *hstate) word(x uint64) {
	h.a = mix(h.a^x, k3)
	if h.two {
		h.b = mix(h.b^x^k5, k4)
	}
}

// fold mixes a finished sub-hash (two lanes) into h.
func (h *hstate) fold(va, vb uint64) {
	h.a = mix(h.a^va, k3)
	if h.two {
		h.b = mix(h.b^vb^k5, k4)
	}
}

func (h *hstate) str(s string) {
	h.bytes(unsafe.StringData(s), uintptr(len(s)))
}

// mem hashes n bytes of plain memory at p.
func (h *hstate) mem(p unsafe.Pointer, n uintptr) {
	if n == 8 {
		h.word(*(*uint64)(p))
		return
	}
	h.bytes((*byte)(p), n)
}

// smallBytes is the length up to which bytes are mixed word by word; longer
// runs go through XXH3-128 (internal/bulk: seedless, the same in every
// process, one pass for both lanes, near memory speed).
const smallBytes = 64

// foldBulk mixes the XXH3-128 hash of a run of n bytes into h.
func (h *hstate) foldBulk(hi, lo uint64, n uintptr) {
	h.a = mix(h.a^lo^uint64(n), k3)
	if h.two {
		h.b = mix(h.b^hi^uint64(n)^k5, k4)
	}
}

// bytes hashes n bytes at p, together with n.
func (h *hstate) bytes(p *byte, n uintptr) {
	if n > smallBytes {
		hi, lo := bulk.Sum128(unsafe.Slice(p, n))
		h.foldBulk(hi, lo, n)
		return
	}
	b := unsafe.Slice(p, n)
	var x, y uint64
	switch {
	case n >= 8:
		for len(b) > 16 {
			h.word(binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
		x = binary.LittleEndian.Uint64(b)
		y = binary.LittleEndian.Uint64(b[len(b)-8:])
	case n >= 4:
		x = uint64(binary.LittleEndian.Uint32(b))
		y = uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	h.a = mix(h.a^x^(uint64(n)<<56), k3)
	h.a = mix(h.a^y, k1)
	if h.two {
		h.b = mix(h.b^x^k5, k4)
		h.b = mix(h.b^y^uint64(n), k2)
	}
}

func (h *hstate) abort(f *hashFailure) {
	h.fail = f
	panic(abortHash{})
}

// isActive reports whether a HashFunc for t is running in this hash: its
// result is then hashed as itself, so a HashFunc that returns a value
// holding its own type terminates.
func (h *hstate) isActive(t reflect.Type) bool {
	for _, a := range h.active {
		if a == t {
			return true
		}
	}
	return false
}

// userHash is a HashFunc option bound to its type.
type userHash struct {
	t  reflect.Type
	fn func(p unsafe.Pointer) any
}

// userRecord remembers what each HashFunc call hashed to during one key
// hash, so the miss-detail tree of the same call can name changed parts
// without running the HashFunc again.
type userRecord struct {
	hits []userHit
}

type userHit struct {
	p    unsafe.Pointer
	t    reflect.Type
	a, b uint64
}

func (r *userRecord) lookup(p unsafe.Pointer, t reflect.Type) (a, b uint64, ok bool) {
	if r == nil {
		return 0, 0, false
	}
	for _, u := range r.hits {
		if u.p == p && u.t == t {
			return u.a, u.b, true
		}
	}
	return 0, 0, false
}

// hashSet holds compiled hash functions for one mode and one set of
// HashFunc options. It is safe for concurrent use.
type hashSet struct {
	mode  hashMode
	user  map[reflect.Type]userHash
	mu    sync.Mutex
	cache sync.Map // reflect.Type → *compiled
	raw   sync.Map // reflect.Type → *compiled, ignoring a HashFunc for the type
	cover sync.Map // reflect.Type → bool: a HashFunc covers a part of it stored inline
}

// compiled is the hash function for one type. fn is filled in after
// compilation so recursive types can refer to themselves.
type compiled struct {
	fn   hashFn
	info *typeInfo
	// contentString: the type is a string hashed by content with h.str
	// (key mode, no HashFunc), so callers may inline that.
	contentString bool
	// for maps walked as objects: the key and value functions
	kc, vc *compiled
}

// The compiled functions for caches without HashFuncs are shared: they
// depend only on the types.
var (
	defaultKeySet = &hashSet{mode: modeKey}
	defaultFPSet  = &hashSet{mode: modeFP}
)

func newHashSet(mode hashMode, user map[reflect.Type]userHash) *hashSet {
	if len(user) == 0 {
		if mode == modeKey {
			return defaultKeySet
		}
		return defaultFPSet
	}
	return &hashSet{mode: mode, user: user}
}

// of returns the compiled hash function for t.
func (s *hashSet) of(t reflect.Type) *compiled {
	if c, ok := s.cache.Load(t); ok {
		return c.(*compiled)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compile(t, map[reflect.Type]*compiled{}, false)
}

// rawOf returns t's hash function ignoring a HashFunc registered for t
// itself (used while that HashFunc's result is hashed).
func (s *hashSet) rawOf(t reflect.Type) *compiled {
	if c, ok := s.raw.Load(t); ok {
		return c.(*compiled)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.compile(t, map[reflect.Type]*compiled{}, true)
	s.raw.Store(t, c)
	return c
}

// covered reports whether a HashFunc of s covers t or a part of t stored
// inline in it (a field, an array element): such a type cannot be hashed,
// compared or fingerprinted as plain memory.
func (s *hashSet) covered(t reflect.Type) bool {
	if len(s.user) == 0 {
		return false
	}
	if v, ok := s.cover.Load(t); ok {
		return v.(bool)
	}
	var c bool
	if _, ok := s.user[t]; ok {
		c = true
	} else {
		switch t.Kind() {
		case reflect.Array:
			c = s.covered(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if s.covered(t.Field(i).Type) {
					c = true
					break
				}
			}
		}
	}
	s.cover.Store(t, c)
	return c
}

// plain reports whether values of t are hashed as their bytes in this set.
func (s *hashSet) plain(ti *typeInfo) bool {
	if s.mode == modeKey {
		return ti.plainKey && !s.covered(ti.t)
	}
	return ti.plainFP
}

func (s *hashSet) compile(t reflect.Type, building map[reflect.Type]*compiled, raw bool) *compiled {
	if !raw {
		if c, ok := s.cache.Load(t); ok {
			return c.(*compiled)
		}
	}
	if c, ok := building[t]; ok {
		return c
	}
	c := &compiled{info: infoOf(t)}
	building[t] = c
	c.fn = s.build(t, c, building, raw)
	_, userCovered := s.user[t]
	c.contentString = t.Kind() == reflect.String && s.mode == modeKey && (raw || !userCovered)
	if !raw {
		s.cache.Store(t, c)
	}
	return c
}

func (s *hashSet) build(t reflect.Type, c *compiled, building map[reflect.Type]*compiled, raw bool) hashFn {
	ti := c.info
	key := s.mode == modeKey
	if u, ok := s.user[t]; ok && !raw {
		if key {
			return s.userFn(u)
		}
		// The mutation check compares a covered value by its own memory
		// (references by address) and never runs the HashFunc.
		n := t.Size()
		return func(h *hstate, p unsafe.Pointer) { h.mem(p, n) }
	}
	if key && isContextType(t) {
		return func(h *hstate, p unsafe.Pointer) {}
	}
	if s.plain(ti) {
		n := t.Size()
		return func(h *hstate, p unsafe.Pointer) { h.mem(p, n) }
	}
	switch t.Kind() {
	case reflect.Float32:
		if key {
			return func(h *hstate, p unsafe.Pointer) { h.word(canonF64(float64(*(*float32)(p)))) }
		}
	case reflect.Float64:
		if key {
			return func(h *hstate, p unsafe.Pointer) { h.word(canonF64(*(*float64)(p))) }
		}
	case reflect.Complex64:
		if key {
			return func(h *hstate, p unsafe.Pointer) {
				c := *(*complex64)(p)
				h.word(canonF64(float64(real(c))))
				h.word(canonF64(float64(imag(c))))
			}
		}
	case reflect.Complex128:
		if key {
			return func(h *hstate, p unsafe.Pointer) {
				c := *(*complex128)(p)
				h.word(canonF64(real(c)))
				h.word(canonF64(imag(c)))
			}
		}
	case reflect.String:
		if key {
			return func(h *hstate, p unsafe.Pointer) { h.str(*(*string)(p)) }
		}
		// Strings are immutable: a changed string is a changed header.
		return func(h *hstate, p unsafe.Pointer) {
			h.word(uint64(uintptr(*(*unsafe.Pointer)(p))))
			h.word(uint64(*(*int)(unsafe.Add(p, ptrSize))))
		}
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		if key {
			f := &hashFailure{t: t}
			return func(h *hstate, p unsafe.Pointer) { h.abort(f) }
		}
		return func(h *hstate, p unsafe.Pointer) { h.word(uint64(uintptr(*(*unsafe.Pointer)(p)))) }
	case reflect.Struct:
		return s.buildStruct(t, building)
	case reflect.Array:
		return s.buildArray(t, building)
	case reflect.Slice:
		return s.buildSlice(t, building)
	case reflect.Pointer:
		return s.buildPointer(t, building)
	case reflect.Map:
		return s.buildMap(t, c, building)
	case reflect.Interface:
		return s.buildInterface(t)
	}
	// Plain kinds that reach here in fingerprint mode (floats) and any
	// other fixed-size memory.
	n := t.Size()
	return func(h *hstate, p unsafe.Pointer) { h.mem(p, n) }
}

// floats hashes float64s by value (canonF64) as one run of memory: when
// no element is -0 or a NaN other than the canonical one, the memory is
// already in canonical form and is hashed in place — for long slices in
// the same pass that checks it; otherwise a canonical copy is hashed.
func (h *hstate) floats(f []float64) {
	n := uintptr(len(f)) * 8
	if n > smallBytes {
		if hi, lo, ok := bulk.Sum128Floats(f); ok {
			h.foldBulk(hi, lo, n)
			return
		}
	} else if bulk.CanonicalFloats(f) {
		h.mem(unsafe.Pointer(unsafe.SliceData(f)), n)
		return
	}
	c := make([]uint64, len(f))
	for i, x := range f {
		c[i] = canonF64(x)
	}
	h.mem(unsafe.Pointer(unsafe.SliceData(c)), n)
}

func canonF64(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return bulk.CanonNaN
	}
	return math.Float64bits(f)
}

type fieldHash struct {
	off uintptr
	c   *compiled
}

func (s *hashSet) buildStruct(t reflect.Type, building map[reflect.Type]*compiled) hashFn {
	var fields []fieldHash
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "_" || f.Type.Size() == 0 && f.Type.Kind() != reflect.Interface {
			continue
		}
		if s.mode == modeKey && isContextType(f.Type) {
			continue
		}
		fields = append(fields, fieldHash{f.Offset, s.compile(f.Type, building, false)})
	}
	if len(fields) == 0 {
		return func(h *hstate, p unsafe.Pointer) { h.word(0x5eed) }
	}
	return tupleHash(fields)
}

func (s *hashSet) buildArray(t reflect.Type, building map[reflect.Type]*compiled) hashFn {
	n := t.Len()
	et := t.Elem()
	ec := s.compile(et, building, false)
	size := et.Size()
	return func(h *hstate, p unsafe.Pointer) {
		for i := range n {
			ec.fn(h, unsafe.Add(p, uintptr(i)*size))
		}
	}
}

type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

func (s *hashSet) buildSlice(t reflect.Type, building map[reflect.Type]*compiled) hashFn {
	et := t.Elem()
	ec := s.compile(et, building, false)
	size := et.Size()
	eplain := s.plain(ec.info)
	if infoOf(et).mayCycle {
		// The backing array is an object of the walk, identified by its
		// address, type and length.
		tp := typePtr(t)
		return func(h *hstate, p unsafe.Pointer) {
			sh := (*sliceHeader)(p)
			if sh.data == nil {
				h.word(0)
				return
			}
			h.word(uint64(sh.len) + 1)
			if sh.len == 0 {
				return
			}
			h.child(kid{p: sh.data, c: ec, key: refKeyOf(sh.data, tp, sh.len), kind: kidSlice})
		}
	}
	// float64s by value, as one run of memory (hstate.floats)
	_, covered := s.user[et]
	floats := s.mode == modeKey && et.Kind() == reflect.Float64 && !covered
	return func(h *hstate, p unsafe.Pointer) {
		sh := (*sliceHeader)(p)
		if sh.data == nil {
			h.word(0)
			return
		}
		h.word(uint64(sh.len) + 1)
		if floats {
			h.floats(unsafe.Slice((*float64)(sh.data), sh.len))
			return
		}
		if eplain {
			h.mem(sh.data, uintptr(sh.len)*size)
			return
		}
		for i := range sh.len {
			ec.fn(h, unsafe.Add(sh.data, uintptr(i)*size))
		}
	}
}

func (s *hashSet) buildPointer(t reflect.Type, building map[reflect.Type]*compiled) hashFn {
	et := t.Elem()
	ec := s.compile(et, building, false)
	if infoOf(et).mayCycle {
		tp := typePtr(et)
		return func(h *hstate, p unsafe.Pointer) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				h.word(0)
				return
			}
			h.word(1)
			h.child(kid{p: q, c: ec, key: refKeyOf(q, tp, 0), kind: kidObject})
		}
	}
	return func(h *hstate, p unsafe.Pointer) {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			h.word(0)
			return
		}
		h.word(1)
		ec.fn(h, q)
	}
}

func (s *hashSet) buildInterface(t reflect.Type) hashFn {
	return func(h *hstate, p unsafe.Pointer) {
		data, dyn, ok := ifaceData(p, t)
		if !ok {
			h.word(0)
			return
		}
		c := h.set.of(dyn)
		h.word(c.info.id)
		if !c.info.mayCycle || c.info.directIface {
			// Bounded by the type, or a single reference (read now, so
			// data may point into a copy that does not outlive this call).
			c.fn(h, data)
			return
		}
		// A boxed value of a type that may cycle: an object of the walk
		// without an identity of its own (boxes cannot be shared in a way
		// a program can see).
		h.child(kid{p: data, c: c, kind: kidObject})
	}
}

func (s *hashSet) userFn(u userHash) hashFn {
	return func(h *hstate, p unsafe.Pointer) {
		if h.isActive(u.t) {
			// Inside this HashFunc's own result: hash the value itself.
			h.set.rawOf(u.t).fn(h, p)
			return
		}
		if h.replay {
			// The detail tree of a call whose key was just hashed: use the
			// result recorded then (or, for a value the key hash did not
			// reach at this address, the value's own memory).
			if a, b, ok := h.rec.lookup(p, u.t); ok {
				h.fold(a, b)
			} else {
				h.mem(p, u.t.Size())
			}
			return
		}
		v := s.callUser(h, u, p)
		var a, b uint64 = 0x1a7e, 0x1a7e
		if v != nil {
			a, b = h.sub(v, u.t)
		}
		h.fold(a, b)
		if h.rec != nil {
			h.rec.hits = append(h.rec.hits, userHit{p, u.t, a, b})
		}
	}
}

// sub hashes v, a HashFunc's result for type t, as a value of its own with
// t marked active, and returns its lanes.
func (h *hstate) sub(v any, t reflect.Type) (uint64, uint64) {
	dyn := reflect.TypeOf(v)
	c := h.set.of(dyn)
	data := (*eface)(unsafe.Pointer(&v)).data
	if c.info.directIface {
		data = unsafe.Pointer(&(*eface)(unsafe.Pointer(&v)).data)
	}
	var s hstate
	s.init(h.set, h.two)
	s.graph = h.graph
	s.active = append(h.active[:len(h.active):len(h.active)], t)
	s.word(c.info.id)
	defer s.release()
	defer func() {
		if s.fail != nil && h.fail == nil {
			h.fail = s.fail
		}
	}()
	c.fn(&s, data)
	s.drain()
	return s.a, s.b
}

// callUser runs a HashFunc, turning a panic inside it into a hash failure.
func (s *hashSet) callUser(h *hstate, u userHash, p unsafe.Pointer) (v any) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abortHash); ok {
				panic(r)
			}
			h.fail = &hashFailure{t: u.t, panicked: r}
			panic(abortHash{})
		}
	}()
	return u.fn(p)
}

// sum returns the finished key hash.
func (h *hstate) sum() (uint64, uint64) {
	return mix(h.a, k5), mix(h.b, k1)
}

// hashValue hashes the value of type t at p with set. It never panics: a
// failure — an unhashable part, a panicking HashFunc, or a fault inside
// cacheruntime itself — is returned.
func hashValue(set *hashSet, c *compiled, p unsafe.Pointer, two bool) (a, b uint64, fail *hashFailure) {
	return hashValueRec(set, c, p, two, nil)
}

// hashValueRec is hashValue that records HashFunc results in rec.
func hashValueRec(set *hashSet, c *compiled, p unsafe.Pointer, two bool, rec *userRecord) (a, b uint64, fail *hashFailure) {
	a, b, fail = hashOnce(set, c, p, two, rec, false, false, nil)
	if fail != nil && fail.complex {
		// Too much sharing of objects on cycles to walk by value: number
		// objects in visit order instead (equal values may then hash
		// differently, which only costs a miss).
		if rec != nil {
			rec.hits = rec.hits[:0]
		}
		a, b, fail = hashOnce(set, c, p, two, rec, true, false, nil)
	}
	return a, b, fail
}

// hashReplay hashes one lane of the value at p like the key hash recorded
// in rec did, without running HashFuncs (for miss-detail trees). keep is a
// walk whose memo the hashes of one tree share, so hashing every part of a
// value costs about as much as hashing the value once.
func hashReplay(set *hashSet, c *compiled, p unsafe.Pointer, rec *userRecord, keep *walk) (a, b uint64, fail *hashFailure) {
	a, b, fail = hashOnce(set, c, p, false, rec, false, true, keep)
	if fail != nil && fail.complex {
		a, b, fail = hashOnce(set, c, p, false, rec, true, true, nil)
	}
	return a, b, fail
}

func hashOnce(set *hashSet, c *compiled, p unsafe.Pointer, two bool, rec *userRecord, graph, replay bool, keep *walk) (a, b uint64, fail *hashFailure) {
	var h hstate
	hp := (*hstate)(noescape.Pointer(unsafe.Pointer(&h)))
	hp.init(set, two)
	hp.graph = graph
	hp.rec = rec
	hp.replay = replay
	hp.keep = keep
	defer func() {
		hp.release()
		if r := recover(); r != nil {
			if _, ok := r.(abortHash); ok && hp.fail != nil {
				fail = hp.fail
				return
			}
			fail = &hashFailure{internal: r}
		}
	}()
	c.fn(hp, p)
	hp.drain()
	a, b = hp.sum()
	return a, b, nil
}

func (f *hashFailure) String() string {
	switch {
	case f == nil:
		return ""
	case f.internal != nil:
		return fmt.Sprintf("cacheruntime internal error: %v", f.internal)
	case f.complex:
		return "value graph too large to hash"
	case f.panicked != nil:
		return fmt.Sprintf("HashFunc for %s panicked: %v", f.t, f.panicked)
	}
	return fmt.Sprintf("%s cannot be hashed", f.t)
}
