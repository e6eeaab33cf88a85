package cacheruntime

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"reflect"
	"sync"
	"unsafe"
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
// (they are immutable), funcs and chans by identity.

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

var (
	seedA = maphash.MakeSeed()
	seedB = maphash.MakeSeed()
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashFn hashes the value at p into h.
type hashFn func(h *hstate, p unsafe.Pointer)

// refKey identifies a referenced object during a walk: its address and type.
type refKey struct {
	p unsafe.Pointer
	t reflect.Type
}

// hstate is the running state of one hash computation. It lives on the
// caller's stack; the maps are allocated only for values that may contain
// cycles.
type hstate struct {
	a, b uint64
	two  bool
	set  *hashSet

	// cycle and sharing handling, only for types that may cycle
	stack  []refKey
	index  map[refKey]int // stack positions, once the stack is deep
	memo   map[refKey][2]uint64
	minRef int // smallest stack index referenced from the current subtree
	visits int
	graph  bool           // fallback: number objects in visit order
	seen   map[refKey]int // graph mode: first-visit order
	fail   *hashFailure   // set before aborting
	budget int            // visits allowed before switching to graph mode
}

// hashFailure describes why a value could not be hashed.
type hashFailure struct {
	t        reflect.Type // the unhashable type, or the type whose HashFunc panicked
	panicked any          // value a HashFunc panicked with
	complex  bool         // the value graph was too large to walk
}

// abortHash is the panic value used to unwind a failed hash.
type abortHash struct{}

func (h *hstate) init(set *hashSet, two bool) {
	h.a, h.b, h.two, h.set = k1, k2, two, set
	h.minRef = math.MaxInt
}

func (h *hstate) word(x uint64) {
	h.a = mix(h.a^x, k3)
	if h.two {
		h.b = mix(h.b^x^k5, k4)
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
// runs go through hash/maphash (AES-based, over 10 GB/s).
const smallBytes = 64

// bytes hashes n bytes at p, together with n.
func (h *hstate) bytes(p *byte, n uintptr) {
	if n > smallBytes {
		b := unsafe.Slice(p, n)
		h.a = mix(h.a^maphash.Bytes(seedA, b)^uint64(n), k3)
		if h.two {
			h.b = mix(h.b^maphash.Bytes(seedB, b)^uint64(n)^k5, k4)
		}
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

// userHash is a HashFunc option bound to its type.
type userHash struct {
	t  reflect.Type
	fn func(p unsafe.Pointer) any
}

// hashSet holds compiled hash functions for one mode and one set of
// HashFunc options. It is safe for concurrent use.
type hashSet struct {
	mode  hashMode
	user  map[reflect.Type]userHash
	mu    sync.Mutex
	cache sync.Map // reflect.Type → *compiled
	raw   sync.Map // reflect.Type → *compiled, ignoring a HashFunc for the type
}

// compiled is the hash function for one type. fn is filled in after
// compilation so recursive types can refer to themselves.
type compiled struct {
	fn   hashFn
	info *typeInfo
	// contentString: the type is a string hashed by content with h.str
	// (key mode, no HashFunc), so callers may inline that.
	contentString bool
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
// itself (used when a HashFunc returns a value of its own type).
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
	c.fn = s.build(t, c.info, building, raw)
	_, covered := s.user[t]
	c.contentString = t.Kind() == reflect.String && s.mode == modeKey && (raw || !covered)
	if !raw {
		s.cache.Store(t, c)
	}
	return c
}

func (s *hashSet) build(t reflect.Type, ti *typeInfo, building map[reflect.Type]*compiled, raw bool) hashFn {
	if u, ok := s.user[t]; ok && !raw {
		return s.userFn(u)
	}
	key := s.mode == modeKey
	if key && t.Kind() == reflect.Interface && isContextType(t) {
		return func(h *hstate, p unsafe.Pointer) {}
	}
	if (key && ti.plainKey) || (!key && ti.plainFP) {
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
		return s.buildMap(t, building)
	case reflect.Interface:
		return s.buildInterface(t)
	}
	// Plain kinds that reach here in fingerprint mode (floats) and any
	// other fixed-size memory.
	n := t.Size()
	return func(h *hstate, p unsafe.Pointer) { h.mem(p, n) }
}

func canonF64(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7ff8000000000001
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
		if s.mode == modeKey && f.Type.Kind() == reflect.Interface && isContextType(f.Type) {
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
	key := s.mode == modeKey
	eplain := (key && ec.info.plainKey) || (!key && ec.info.plainFP)
	track := infoOf(t).mayCycle
	body := func(h *hstate, sh *sliceHeader) {
		h.word(uint64(sh.len) + 1)
		if eplain {
			h.mem(sh.data, uintptr(sh.len)*size)
			return
		}
		for i := range sh.len {
			ec.fn(h, unsafe.Add(sh.data, uintptr(i)*size))
		}
	}
	return func(h *hstate, p unsafe.Pointer) {
		sh := (*sliceHeader)(p)
		if sh.data == nil {
			h.word(0)
			return
		}
		if !track || sh.len == 0 {
			body(h, sh)
			return
		}
		h.ref(sh.data, t, func() { body(h, sh) })
	}
}

func (s *hashSet) buildPointer(t reflect.Type, building map[reflect.Type]*compiled) hashFn {
	et := t.Elem()
	ec := s.compile(et, building, false)
	track := infoOf(t).mayCycle
	return func(h *hstate, p unsafe.Pointer) {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			h.word(0)
			return
		}
		h.word(1)
		if !track {
			ec.fn(h, q)
			return
		}
		h.ref(q, et, func() { ec.fn(h, q) })
	}
}

func (s *hashSet) buildInterface(t reflect.Type) hashFn {
	return func(h *hstate, p unsafe.Pointer) {
		data, dyn, ok := ifaceData(p, t)
		if !ok {
			h.word(0)
			return
		}
		h.word(typeID(dyn))
		c := h.set.of(dyn)
		c.fn(h, data)
	}
}

func (s *hashSet) userFn(u userHash) hashFn {
	return func(h *hstate, p unsafe.Pointer) {
		v := s.callUser(h, u, p)
		if v == nil {
			h.word(0x1a7e)
			return
		}
		dyn := reflect.TypeOf(v)
		h.word(typeID(dyn))
		var c *compiled
		if dyn == u.t {
			c = h.set.rawOf(dyn)
		} else {
			c = h.set.of(dyn)
		}
		data := (*eface)(unsafe.Pointer(&v)).data
		if c.info.directIface {
			data = unsafe.Pointer(&(*eface)(unsafe.Pointer(&v)).data)
		}
		c.fn(h, data)
	}
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

// ref hashes a referenced object (pointer target, slice backing array or
// map) of a type that may take part in a cycle. Objects on the current path
// are hashed as a back reference; finished subtrees that do not refer above
// themselves are memoized, so shared objects are walked once and equal
// values hash equally however they are shared.
func (h *hstate) ref(p unsafe.Pointer, t reflect.Type, walk func()) {
	k := refKey{p, t}
	if h.graph {
		if n, ok := h.seen[k]; ok {
			h.word(0xb4c0 ^ uint64(n))
			return
		}
		if h.seen == nil {
			h.seen = map[refKey]int{}
		}
		h.seen[k] = len(h.seen)
		walk()
		return
	}
	if i := h.onStack(k); i >= 0 {
		h.word(0xb4c1 ^ uint64(len(h.stack)-i))
		h.minRef = min(h.minRef, i)
		return
	}
	if v, ok := h.memo[k]; ok {
		h.word(v[0])
		if h.two {
			h.b = mix(h.b^v[1], k4)
		}
		return
	}
	h.visits++
	if h.budget == 0 {
		h.budget = 1 << 16
	}
	if h.visits > h.budget+8*len(h.memo) {
		h.fail = &hashFailure{complex: true}
		panic(abortHash{})
	}
	depth := len(h.stack)
	h.stack = append(h.stack, k)
	if h.index != nil || depth >= 16 {
		h.indexStack()
		h.index[k] = depth
	}
	outerMin := h.minRef
	h.minRef = math.MaxInt
	sa, sb := h.a, h.b
	h.a, h.b = k1^uint64(t.Size()), k2
	walk()
	va, vb := h.a, h.b
	h.a, h.b = sa, sb
	h.stack = h.stack[:depth]
	if h.index != nil {
		delete(h.index, k)
	}
	if h.minRef >= depth {
		if h.memo == nil {
			h.memo = map[refKey][2]uint64{}
		}
		h.memo[k] = [2]uint64{va, vb}
	}
	h.minRef = min(outerMin, h.minRef)
	h.word(va)
	if h.two {
		h.b = mix(h.b^vb, k4)
	}
}

// onStack returns the stack position of k or -1.
func (h *hstate) onStack(k refKey) int {
	if h.index != nil {
		if i, ok := h.index[k]; ok {
			return i
		}
		return -1
	}
	for i := len(h.stack) - 1; i >= 0; i-- {
		if h.stack[i] == k {
			return i
		}
	}
	return -1
}

func (h *hstate) indexStack() {
	if h.index != nil {
		return
	}
	h.index = make(map[refKey]int, 2*len(h.stack))
	for i, k := range h.stack {
		h.index[k] = i
	}
}

// sub hashes one unit (a map entry) with fresh lanes and returns its lanes.
func (h *hstate) sub(f func()) (uint64, uint64) {
	sa, sb := h.a, h.b
	h.a, h.b = k1, k2
	f()
	va, vb := h.a, h.b
	h.a, h.b = sa, sb
	return va, vb
}

// sum returns the finished key hash.
func (h *hstate) sum() (uint64, uint64) {
	return mix(h.a, k5), mix(h.b, k1)
}

// hashValue hashes the value of type t at p with set. It never panics: a
// failure is returned.
func hashValue(set *hashSet, c *compiled, p unsafe.Pointer, two bool) (a, b uint64, fail *hashFailure) {
	var h hstate
	hp := (*hstate)(noescape(unsafe.Pointer(&h)))
	hp.init(set, two)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abortHash); !ok {
				panic(r)
			}
			fail = hp.fail
			if fail != nil && fail.complex {
				// Too much sharing to walk by value: number objects in
				// visit order instead (equal values may then hash
				// differently, which only costs a miss).
				fail = nil
				a, b, fail = hashGraph(set, c, p, two)
			}
		}
	}()
	c.fn(hp, p)
	a, b = hp.sum()
	return a, b, nil
}

func hashGraph(set *hashSet, c *compiled, p unsafe.Pointer, two bool) (a, b uint64, fail *hashFailure) {
	var h hstate
	h.init(set, two)
	h.graph = true
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abortHash); !ok {
				panic(r)
			}
			fail = h.fail
		}
	}()
	c.fn(&h, p)
	a, b = h.sum()
	return a, b, nil
}

func (f *hashFailure) String() string {
	switch {
	case f == nil:
		return ""
	case f.complex:
		return "value graph too large to hash"
	case f.panicked != nil:
		return fmt.Sprintf("HashFunc for %s panicked: %v", f.t, f.panicked)
	}
	return fmt.Sprintf("%s cannot be hashed", f.t)
}
