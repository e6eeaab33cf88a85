package cacheruntime

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/callers"
	"github.com/cachelens/cachelens/cacheruntime/internal/noescape"
	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
	"github.com/cachelens/cachelens/wire"
)

// cache is the engine behind every cached function. The wrappers (Func via
// reflection, the typed variants directly) lay the arguments out as a
// struct (the args tuple) and ask the cache for a pointer to the results
// tuple; the cache never sees the function's types except through
// reflect.Type and compiled hash functions.
type cache struct {
	cfg  config
	name string
	file string // the Func call that created the cache
	line int
	sig  string // the wrapped function's type
	pkg  string // the wrapped function's package, for suggested fixes

	// arguments
	argsT     reflect.Type
	params    []param
	keySet    *hashSet
	recorded  bool          // keySet has HashFuncs, whose results a call records (callRecorded)
	keyC      *compiled     // hashes the non-context parameters of an args tuple
	flat      bool          // keys are compared with ==: one hash lane plus equality
	direct    []directField // flat keys of strings and plain memory: hashed and compared without closures
	eq        func(a, b unsafe.Pointer) bool
	strict    bool
	variadic  bool
	argBudget int

	// results
	resT     reflect.Type
	fpSet    *hashSet
	resC     *compiled
	checkMut bool
	// resStrings, when not nil, are the offsets of the strings of a
	// results tuple of plain memory and strings: sizing it needs no walk.
	resStrings []uintptr

	shards []shard
	mask   uint64
	entryT reflect.Type // entryType: an entry with what this cache uses inline
	entryLayout
	sites siteTable

	// ctr holds the cache's counters (indexed by the wire.Ctr constants),
	// in its record of the run file: a language server reads them there.
	ctr []atomic.Int64
	run *runfile.File // nil when nothing reports
	rid uint32        // the cache's record id in run

	epoch time.Time

	lru lruOrder
	exp expiryQueue

	tombMu sync.Mutex
	tombs  map[uint64]tomb
	tombQ  []uint64

	logMu            sync.Mutex
	errLog           []*hashErrRec  // distinct hash errors, at most maxLog
	mutLog           []*mutRec      // distinct mutations, at most maxLog
	errMore, mutMore *atomic.Int64  // counts of those beyond maxLog
	storeErrs        []*storeErrRec // distinct store errors, at most maxLog
	storeMore        *atomic.Int64

	// computeHist counts computations by duration (ComputeBounds).
	computeHist [len(ComputeBounds)]atomic.Int64

	// tiers are the stores behind memory, in the order they are asked:
	// Persist's disk, then shared Stores. enc encodes results for them;
	// identity names the function's entries there.
	tiers    []tier
	enc      *encoder
	identity func() identity

	rep *Reporter
}

type param struct {
	t    reflect.Type
	off  uintptr
	skip bool // context: not part of the key
}

type entryState = int32

const (
	stComputing entryState = iota
	stReady
	stFailed   // returned an error: shared with waiting callers, not cached
	stPanicked // the computation panicked: waiting callers retry
)

// entry is one cached result (or one in-flight computation): the part
// every cache needs. It is the first field of the cache's entryType, which
// adds only what the cache uses — the mutation check's fields, the LRU
// links, the expiry time, the key copy and the results tuple — found at
// offsets the cache knows (cache.res, cache.mut, ...).
type entry struct {
	h1      uint64
	next    atomic.Pointer[entry] // the next entry in the shard's chain
	state   atomic.Int32
	removed atomic.Bool
}

// keyFields are an entry's fields for keys that are not flat (flat keys
// are kept whole and compared; one hash lane finds them).
type keyFields struct {
	h2  uint64
	rec *callRecord // the call's detail trees, for miss reasons
}

// mutFields are an entry's fields for the mutation check.
type mutFields struct {
	fp   uint64
	tree *node
	recv atomic.Pointer[site] // the last site that received the value
}

// lruFields are an entry's place for MaxEntries, guarded by cache.lru.mu
// except lastUse.
type lruFields struct {
	lastUse atomic.Int64 // the tick of its latest use: its insertion or a hit
	key     int64        // its key in the heap: twice the tick it was placed by, plus 1 for a use
	idx     int          // 1 + its index in the heap; 0: not in it
}

// key returns e's copy of its args tuple (flat keys only).
func (c *cache) key(e *entry) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(e), c.keyOff) }

// res returns e's results tuple.
func (c *cache) res(e *entry) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(e), c.resOff) }

// keyInfo returns e's second hash lane and detail trees (keys that are
// not flat only).
func (c *cache) keyInfo(e *entry) *keyFields {
	return (*keyFields)(unsafe.Add(unsafe.Pointer(e), c.keyInfoOff))
}

// h2 returns e's second hash lane (0 for flat keys, which have one).
func (c *cache) h2(e *entry) uint64 {
	if c.flat {
		return 0
	}
	return c.keyInfo(e).h2
}

// size returns the bytes e's result holds: stored, or for results of
// plain memory and strings computed again (the same figure, cheaply).
func (c *cache) size(e *entry) int64 {
	if c.sizeOff == 0 {
		return c.sizeOf(c.res(e))
	}
	return *(*int64)(unsafe.Add(unsafe.Pointer(e), c.sizeOff))
}

// mut returns e's mutation-check fields (caches with checkMut only).
func (c *cache) mut(e *entry) *mutFields {
	return (*mutFields)(unsafe.Add(unsafe.Pointer(e), c.mutOff))
}

// expires returns where e's expiry time is (TTL caches only): nanoseconds
// since the cache's epoch, 0 = never.
func (c *cache) expires(e *entry) *int64 { return (*int64)(unsafe.Add(unsafe.Pointer(e), c.ttlOff)) }

// callRecord describes the arguments of a call, for miss reasons.
type callRecord struct {
	h1, h2 uint64
	args   []*node // per parameter; nil for context parameters
}

type tomb struct {
	h2     uint64
	reason MissKind
}

const maxTombs = 1024

// hashErrRec is a distinct hash error; its count and last site are in its
// record of the run file.
type hashErrRec struct {
	err   HashError
	count *atomic.Int64
	site  atomic.Pointer[site]
	rsite *uint32 // the last site's record id, in the record
}

// mutRec is a distinct mutation of a result.
type mutRec struct {
	path           string
	recv, detected *site
	count          *atomic.Int64
}

// maxLog bounds the distinct hash errors and mutations kept per cache;
// further distinct ones are counted together.
const maxLog = 32

// newCache builds the engine for a function value fn whose parameters are
// laid out as argsT (one field per parameter, in order) and whose results
// are laid out as resT. defSkip is the number of frames between newCache's
// caller and the user's Func call.
func newCache(fn reflect.Value, argsT, resT reflect.Type, variadic bool, opts []Option, defSkip int) *cache {
	c := &cache{argsT: argsT, resT: resT, variadic: variadic, epoch: time.Now()}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&c.cfg)
		}
	}
	if _, file, line, ok := runtime.Caller(defSkip + 1); ok {
		c.file, c.line = file, line
	}
	c.pkg = funcPackage(funcName(fn))
	c.name = c.cfg.name
	if c.name == "" {
		c.name = funcName(fn)
	}
	c.sig = fn.Type().String()
	c.strict = c.cfg.strict || envStrict()

	c.keySet = newHashSet(modeKey, c.cfg.user)
	c.recorded = c.keySet.user != nil
	c.params = make([]param, argsT.NumField())
	var keyFields []fieldHash
	flat := true
	for i := range c.params {
		f := argsT.Field(i)
		p := param{t: f.Type, off: f.Offset, skip: isContextType(f.Type)}
		c.params[i] = p
		if p.skip {
			continue
		}
		fc := c.keySet.of(f.Type)
		keyFields = append(keyFields, fieldHash{f.Offset, fc})
		if c.keySet.covered(f.Type) || !fc.info.flat {
			flat = false
		}
	}
	c.keyC = &compiled{fn: tupleHash(keyFields), info: infoOf(argsT)}
	c.argBudget = 16

	c.fpSet = newHashSet(modeFP, c.cfg.user)
	c.resC = c.fpSet.of(resT)
	c.checkMut = !c.cfg.allowMutation && !c.resC.info.immutable
	if offs, ok := stringOffsets(resT); ok {
		c.resStrings = offs
	}
	if c.cfg.fault != "" {
		c.injectFaults()
		flat = false
	}
	c.flat = flat
	if flat {
		c.eq = tupleEq(c.params)
		c.direct = directFields(c.keySet, keyFields)
	}

	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < 64 {
		n *= 2
	}
	c.shards = make([]shard, n)
	for i := range c.shards {
		c.shards[i].cond.L = &c.shards[i].mu
	}
	c.mask = uint64(n - 1)
	c.entryT, c.entryLayout = entryType(argsT, resT, flat, c.resStrings != nil, c.checkMut, c.cfg.maxEntries > 0, c.cfg.ttl > 0)
	c.lru.off = c.lruOff
	c.exp.off = c.ttlOff

	if !c.cfg.noReport {
		c.rep = c.cfg.reporter
		if c.rep == nil {
			c.rep = defaultReporter()
		}
	}
	if c.rep != nil {
		c.run = c.rep.run
	}
	c.ctr = defRecord(c.run, c)
	if c.cfg.newDisk == nil && len(c.cfg.stores) == 0 {
		// WithCodec alone persists to disk, whatever order the options
		// come in.
		c.cfg.newDisk = c.cfg.codecDisk
	}
	if c.cfg.newDisk != nil || len(c.cfg.stores) > 0 {
		c.enc = newEncoder(c)
		c.identity = c.identify(fn)
		if c.cfg.newDisk != nil {
			c.tiers = append(c.tiers, c.cfg.newDisk(c, fn))
		}
		for _, s := range c.cfg.stores {
			c.tiers = append(c.tiers, newStoreTier(c, s))
		}
	}
	c.sites.cache = c
	if c.cfg.handle != nil {
		c.cfg.handle.c.Store(c)
	}
	if c.rep != nil {
		c.rep.noteFile(c.file)
		c.rep.register(c)
	}
	register(c)
	return c
}

func envStrict() bool {
	v := os.Getenv("CACHELENS_STRICT")
	return v != "" && v != "0" && v != "false"
}

func funcName(fn reflect.Value) string {
	f := runtime.FuncForPC(fn.Pointer())
	if f == nil {
		return "func"
	}
	name := f.Name()
	name = strings.TrimSuffix(name, "-fm")
	return name
}

// shortName drops the import path from a qualified function name.
func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// tupleHash hashes fields in order at their offsets: a struct's fields, or
// a call's arguments laid out as one. One and two fields, the common
// shapes, are unrolled.
func tupleHash(fields []fieldHash) hashFn {
	switch len(fields) {
	case 0:
		return func(h *hstate, p unsafe.Pointer) {}
	case 1:
		f0 := fields[0]
		return func(h *hstate, p unsafe.Pointer) { f0.c.fn(h, unsafe.Add(p, f0.off)) }
	case 2:
		f0, f1 := fields[0], fields[1]
		return func(h *hstate, p unsafe.Pointer) {
			f0.c.fn(h, unsafe.Add(p, f0.off))
			f1.c.fn(h, unsafe.Add(p, f1.off))
		}
	}
	return func(h *hstate, p unsafe.Pointer) {
		for _, f := range fields {
			f.c.fn(h, unsafe.Add(p, f.off))
		}
	}
}

// A directField is a key parameter that keyHash hashes inline, as its
// compiled function would, without calling it: a string, or n bytes of
// plain memory.
type directField struct {
	off uintptr
	n   uintptr // plain memory: its size; a string: 0
}

// directFields returns the key parameters as directFields, or nil when
// any is hashed some other way (floats by value, structs holding
// strings, HashFuncs).
func directFields(set *hashSet, fields []fieldHash) []directField {
	// Every hit reads the array: it fills whole cache lines (see table).
	const perLine = 64 / int(unsafe.Sizeof(directField{}))
	d := make([]directField, 0, (len(fields)+perLine-1)/perLine*perLine)
	for _, f := range fields {
		switch {
		case f.c.contentString:
			d = append(d, directField{off: f.off})
		case set.plain(f.c.info) && f.c.info.t.Size() > 0:
			d = append(d, directField{off: f.off, n: f.c.info.t.Size()})
		default:
			return nil
		}
	}
	return d
}

// hashDirect hashes the args tuple at p by its direct fields: the same
// first lane that hstate and the fields' compiled functions compute
// (TestDirectHashMatchesCompiled), with no indirect call per parameter.
func hashDirect(fields []directField, p unsafe.Pointer) uint64 {
	h := hstate{a: k1}
	for _, f := range fields {
		q := unsafe.Add(p, f.off)
		switch f.n {
		case 0:
			s := *(*string)(q)
			h.bytes(unsafe.StringData(s), uintptr(len(s)))
		case 8:
			h.a = mix(h.a^*(*uint64)(q), k3)
		default:
			h.bytes((*byte)(q), f.n)
		}
	}
	return mix(h.a, k5)
}

// eqDirect reports whether the args tuples at a and b have equal direct
// fields: what c.eq says for them (TestDirectHashMatchesCompiled), with no
// indirect call per parameter. Plain memory is equal when its bytes are
// (no floats, no padding: hashSet.plain).
func eqDirect(fields []directField, a, b unsafe.Pointer) bool {
	for _, f := range fields {
		x, y := unsafe.Add(a, f.off), unsafe.Add(b, f.off)
		switch f.n {
		case 0:
			if *(*string)(x) != *(*string)(y) {
				return false
			}
		case 8:
			if *(*uint64)(x) != *(*uint64)(y) {
				return false
			}
		default:
			if unsafe.String((*byte)(x), f.n) != unsafe.String((*byte)(y), f.n) {
				return false
			}
		}
	}
	return true
}

// tupleEq compares the key parameters of two args tuples of flat types.
func tupleEq(params []param) func(a, b unsafe.Pointer) bool {
	var eqs []func(a, b unsafe.Pointer) bool
	for _, p := range params {
		if p.skip {
			continue
		}
		off, e := p.off, flatEq(p.t)
		eqs = append(eqs, func(a, b unsafe.Pointer) bool { return e(unsafe.Add(a, off), unsafe.Add(b, off)) })
	}
	switch len(eqs) {
	case 0:
		return func(a, b unsafe.Pointer) bool { return true }
	case 1:
		return eqs[0]
	case 2:
		e0, e1 := eqs[0], eqs[1]
		return func(a, b unsafe.Pointer) bool { return e0(a, b) && e1(a, b) }
	}
	return func(a, b unsafe.Pointer) bool {
		for _, e := range eqs {
			if !e(a, b) {
				return false
			}
		}
		return true
	}
}

func flatEq(t reflect.Type) func(a, b unsafe.Pointer) bool {
	ti := infoOf(t)
	if ti.plainKey {
		n := int(t.Size())
		switch n {
		case 8:
			return func(a, b unsafe.Pointer) bool { return *(*uint64)(a) == *(*uint64)(b) }
		case 0:
			return func(a, b unsafe.Pointer) bool { return true }
		}
		return func(a, b unsafe.Pointer) bool {
			return unsafe.String((*byte)(a), n) == unsafe.String((*byte)(b), n)
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(a, b unsafe.Pointer) bool { return *(*string)(a) == *(*string)(b) }
	case reflect.Array:
		e, size, n := flatEq(t.Elem()), t.Elem().Size(), t.Len()
		return func(a, b unsafe.Pointer) bool {
			for i := range n {
				if !e(unsafe.Add(a, uintptr(i)*size), unsafe.Add(b, uintptr(i)*size)) {
					return false
				}
			}
			return true
		}
	case reflect.Struct:
		var ps []param
		for i := range t.NumField() {
			f := t.Field(i)
			ps = append(ps, param{t: f.Type, off: f.Offset})
		}
		return tupleEq(ps)
	}
	// Not reached for flat types; compare as values to stay correct.
	return func(a, b unsafe.Pointer) bool {
		return reflect.NewAt(t, a).Elem().Equal(reflect.NewAt(t, b).Elem())
	}
}

// now returns nanoseconds since the cache was created.
func (c *cache) now() int64 { return int64(time.Since(c.epoch)) }

// keyHash hashes the key parameters of the args tuple at p, recording the
// results of HashFuncs in rec when it is not nil. It never panics.
func (c *cache) keyHash(p unsafe.Pointer, rec *userRecord) (h1, h2 uint64, fail *hashFailure) {
	if c.direct != nil {
		h1 = hashDirect(c.direct, p)
	} else if c.flat {
		// Strings and plain memory: nothing here can fail.
		var h hstate
		hp := (*hstate)(noescape.Pointer(unsafe.Pointer(&h)))
		hp.init(c.keySet, false)
		c.keyC.fn(hp, p)
		h1, _ = hp.sum()
	} else {
		h1, h2, fail = hashValueRec(c.keySet, c.keyC, p, true, rec)
	}
	if c.cfg.keyMask != 0 {
		h1 &= c.cfg.keyMask
	}
	return h1, h2, fail
}

// fingerprint hashes the results tuple at p for the mutation check. It
// never panics; a fault inside cacheruntime is returned.
func (c *cache) fingerprint(p unsafe.Pointer) (uint64, *hashFailure) {
	a, _, fail := hashValue(c.fpSet, c.resC, p, false)
	return a, fail
}

func (c *cache) match(e *entry, h2 uint64, p unsafe.Pointer) bool {
	if c.direct != nil {
		return eqDirect(c.direct, c.key(e), p)
	}
	if c.flat {
		return c.eq(c.key(e), p)
	}
	return c.keyInfo(e).h2 == h2
}

// find returns the entry for the key (h1, h2, the args tuple at p) in sh,
// without taking a lock.
func (c *cache) find(sh *shard, h1, h2 uint64, p unsafe.Pointer) *entry {
	for e := sh.head(h1); e != nil; e = e.next.Load() {
		if e.h1 == h1 && c.match(e, h2, p) {
			return e
		}
	}
	return nil
}

// call is the whole life of one call: look the arguments up, return the
// stored results on a hit, compute on a miss. compute fills a results
// tuple and reports whether it may be cached (false: an error result).
// The returned pointer is to a results tuple the caller copies out.
//
//go:noinline
func (c *cache) call(p unsafe.Pointer, compute func(res unsafe.Pointer) bool) unsafe.Pointer {
	pc1, pc2 := callers.PCs()
	return c.callAt(c.sites.get(c.sites.pick(pc1, pc2)), p, compute)
}

func (c *cache) callAt(st *site, p unsafe.Pointer, compute func(res unsafe.Pointer) bool) unsafe.Pointer {
	// sp marks this call's place on the goroutine's stack, taken once so
	// that every step of the call finds the same previous-call slot and
	// counter stripe (deeper frames could fall in another 2 KiB region).
	var mark byte
	sp := uintptr(unsafe.Pointer(&mark))
	if c.recorded {
		return c.callRecorded(st, sp, p, compute)
	}
	return c.lookup(st, sp, p, compute, nil)
}

// callRecorded is callAt for caches with HashFuncs: their results are
// recorded during the key hash, so a miss's detail tree does not run them
// again.
func (c *cache) callRecorded(st *site, sp uintptr, p unsafe.Pointer, compute func(res unsafe.Pointer) bool) unsafe.Pointer {
	rec := records.Get().(*userRecord)
	defer rec.put()
	return c.lookup(st, sp, p, compute, rec)
}

var records = sync.Pool{New: func() any { return new(userRecord) }}

func (r *userRecord) put() {
	if cap(r.hits) > 64 {
		r.hits = nil
	}
	clear(r.hits)
	r.hits = r.hits[:0]
	records.Put(r)
}

func (c *cache) lookup(st *site, sp uintptr, p unsafe.Pointer, compute func(res unsafe.Pointer) bool, rec *userRecord) unsafe.Pointer {
	var t0 time.Time
	ctr := st.counters(sp) // the stripe this hit counts in
	byP := st.contended.Load()
	if byP {
		ctr = st.pStripe()
	}
	sample := ctr.hits.Load()&63 == 0
	if sample {
		t0 = time.Now()
	}
	h1, h2, fail := c.keyHash(p, rec)
	if fail != nil {
		return c.uncached(st, sp, p, fail, compute)
	}
	sh := &c.shards[h1&c.mask]
	e := c.find(sh, h1, h2, p)
	if e == nil || e.state.Load() != stReady {
		return c.miss(st, sp, sh, h1, h2, p, compute, MissReason{}, rec)
	}
	if c.cfg.ttl > 0 && *c.expires(e) != 0 && c.now() > *c.expires(e) {
		if c.remove(e, MissExpired) {
			c.ctr[wire.CtrExpired].Add(1)
		}
		return c.miss(st, sp, sh, h1, h2, p, compute, MissReason{Kind: MissExpired}, rec)
	}
	if c.checkMut {
		fp, fail := c.fingerprint(c.res(e))
		if fail != nil {
			// The result cannot be checked: do not trust it.
			return c.uncached(st, sp, p, &hashFailure{internal: fmt.Sprintf("checking a cached result: %v", fail.internal)}, compute)
		}
		if fp != c.mut(e).fp {
			return c.mutated(st, sp, sh, e, h1, h2, p, compute, rec)
		}
	}
	if sample {
		c.ctr[wire.CtrHashNs].Add(int64(time.Since(t0)))
		c.ctr[wire.CtrHashN].Add(1)
	}
	st.countHit(byP, ctr)
	c.hit(st, sp, e)
	return c.res(e)
}

// hit remembers a hit's call (counted already).
func (c *cache) hit(st *site, sp uintptr, e *entry) {
	if c.cfg.maxEntries > 0 {
		c.lru.use(e)
	}
	if c.checkMut {
		if m := c.mut(e); m.recv.Load() != st {
			m.recv.Store(st)
		}
	}
	// The previous call here: recorded if the slot records this goroutine
	// (lastCall), and only when it changed.
	if l := st.last(sp); l.Load() != e {
		if o := l.owner.Load(); o == stackRegion(sp) {
			l.Store(e)
		} else if o == 0 {
			l.claim(sp, e)
		}
	}
}

// miss computes the result for a key that is not (or no longer) cached,
// making sure concurrent callers with the same key compute once.
func (c *cache) miss(st *site, sp uintptr, sh *shard, h1, h2 uint64, p unsafe.Pointer, compute func(unsafe.Pointer) bool, reason MissReason, rec *userRecord) unsafe.Pointer {
	for {
		sh.mu.Lock()
		e := c.find(sh, h1, h2, p)
		if e != nil {
			sh.mu.Unlock()
			sh.wait(e)
			switch e.state.Load() {
			case stReady:
				// Computed by a concurrent caller: a hit for this one.
				if c.checkMut {
					fp, fail := c.fingerprint(c.res(e))
					if fail != nil {
						return c.uncached(st, sp, p, &hashFailure{internal: fmt.Sprintf("checking a cached result: %v", fail.internal)}, compute)
					}
					if fp != c.mut(e).fp {
						return c.mutated(st, sp, sh, e, h1, h2, p, compute, rec)
					}
				}
				st.countHit(false, st.counters(sp))
				c.hit(st, sp, e)
				return c.res(e)
			case stFailed:
				st.counters(sp).misses.Add(1)
				return c.res(e)
			}
			// stPanicked: the computing caller panicked; try again.
			continue
		}
		e = c.newEntry(h1, h2, p)
		sh.insert(e)
		sh.mu.Unlock()
		// The key outside the process, hashed once for the tiers' lookup,
		// the claim and the write (nil: no tiers, or it cannot be had).
		var key *Key
		if len(c.tiers) > 0 {
			if k, ok := c.storeKey(p, e); ok {
				key = &k
			}
		}
		if key != nil {
			if res := c.fromTiers(st, sp, sh, e, *key, &reason); res != nil {
				return res
			}
			unlock, res := c.claim(st, sp, sh, e, *key)
			if res != nil {
				return res
			}
			if unlock != nil {
				defer unlock()
			}
		}
		return c.compute(st, sp, sh, e, p, compute, reason, rec, key)
	}
}

// entryLayout is where an entry's optional parts are in the cache's
// entryType (offsets from the entry; 0: the cache has no such part).
type entryLayout struct {
	keyOff, resOff, mutOff, lruOff, ttlOff, keyInfoOff, sizeOff uintptr
}

// entryType is the memory of one entry with what this cache uses inline:
// the entry, the mutation check's fields, the LRU links, the expiry time,
// a copy of the args tuple (flat keys) and the results tuple — one
// allocation per miss, a hit reads one object, and a cache pays only for
// the features it uses.
func entryType(argsT, resT reflect.Type, flat, sized, mut, lru, ttl bool) (reflect.Type, entryLayout) {
	var l entryLayout
	fields := []reflect.StructField{{Name: "E", Type: reflect.TypeFor[entry]()}}
	var offs []*uintptr // where each added part's offset goes
	add := func(on bool, off *uintptr, t reflect.Type) {
		if on {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", len(fields)), Type: t})
			offs = append(offs, off)
		}
	}
	add(!flat, &l.keyInfoOff, reflect.TypeFor[keyFields]())
	add(!sized, &l.sizeOff, reflect.TypeFor[int64]())
	add(mut, &l.mutOff, reflect.TypeFor[mutFields]())
	add(lru, &l.lruOff, reflect.TypeFor[lruFields]())
	add(ttl, &l.ttlOff, reflect.TypeFor[int64]())
	add(flat, &l.keyOff, argsT)
	add(true, &l.resOff, resT)
	t := reflect.StructOf(fields)
	for i, off := range offs {
		*off = t.Field(i + 1).Offset
	}
	return t, l
}

// newEntry returns an entry, computing, for the key (h1, h2, the args
// tuple at p), with its result zeroed.
func (c *cache) newEntry(h1, h2 uint64, p unsafe.Pointer) *entry {
	v := reflect.New(c.entryT)
	base := v.UnsafePointer()
	e := (*entry)(base)
	e.h1 = h1
	if !c.flat {
		c.keyInfo(e).h2 = h2
	}
	if c.flat {
		reflect.NewAt(c.argsT, c.key(e)).Elem().Set(reflect.NewAt(c.argsT, p).Elem())
	}
	return e
}

// compute runs the wrapped function for the in-flight entry e and stores
// the result. Whatever happens — the function returns, fails or panics, or
// a step of cacheruntime's own fails — e leaves the computing state, so no
// later caller waits on it forever. Only the function's own panic
// propagates.
func (c *cache) compute(st *site, sp uintptr, sh *shard, e *entry, p unsafe.Pointer, compute func(unsafe.Pointer) bool, reason MissReason, rec *userRecord, key *Key) unsafe.Pointer {
	st.counters(sp).misses.Add(1)
	c.explainMiss(st, sp, e, p, reason, rec)

	res := c.res(e)
	settled := false
	defer func() {
		if !settled {
			// The computation panicked: forget the entry, let waiting
			// callers retry, and let the panic continue unchanged.
			c.unlink(sh, e)
			c.addTomb(e.h1, c.h2(e), MissPanicked)
			sh.settle(e, stPanicked)
		}
	}()
	t0 := time.Now()
	ok := compute(res)
	d := time.Since(t0)
	settled = true
	c.ctr[wire.CtrComputeNs].Add(int64(d))
	c.ctr[wire.CtrComputes].Add(1)
	c.computeHist[computeBucket(d)].Add(1)
	if !ok {
		c.unlink(sh, e)
		c.addTomb(e.h1, c.h2(e), MissError)
		sh.settle(e, stFailed)
		return res
	}
	if !c.prepare(st, e, res) {
		// The result could not be prepared for storing: share it with
		// the callers waiting now, as for an error, but do not keep it.
		c.unlink(sh, e)
		sh.settle(e, stFailed)
		return res
	}
	var payload []byte
	if key != nil {
		payload = c.encodeForTiers(res)
	}
	c.keep(sh, e)
	if payload != nil {
		c.writeTiers(*key, payload)
	}
	return res
}

// computeBucket returns the index of d's ComputeBounds bucket.
func computeBucket(d time.Duration) int {
	for i, b := range ComputeBounds {
		if d <= b {
			return i
		}
	}
	return len(ComputeBounds) - 1
}

// keep makes the prepared entry e a cached result: counted, ready for
// the callers waiting on it, and in the TTL and LRU orders.
func (c *cache) keep(sh *shard, e *entry) {
	c.ctr[wire.CtrEntries].Add(1)
	c.ctr[wire.CtrBytes].Add(c.size(e))
	sh.settle(e, stReady)
	if c.cfg.ttl > 0 {
		c.exp.push(e)
	}
	if c.cfg.maxEntries > 0 {
		c.lru.inserted(e)
		c.lru.push(e)
		c.evictOver()
	}
}

// explainMiss records the arguments of a miss (in its keyFields, but for flat
// keys: the entry's key copy is their record) and why it missed. A fault
// in it costs the reason, never the call.
func (c *cache) explainMiss(st *site, sp uintptr, e *entry, p unsafe.Pointer, reason MissReason, rec *userRecord) {
	defer func() {
		if r := recover(); r != nil {
			c.internalError(st, "explaining a miss", r)
			if !c.flat {
				c.keyInfo(e).rec = nil
			}
		}
	}()
	c.inject(faultExplain)
	if !c.flat {
		c.keyInfo(e).rec = c.record(e.h1, c.h2(e), p, rec)
	}
	if reason.Kind == 0 {
		reason = c.reason(st, sp, e)
	} else {
		c.takeTomb(e.h1, c.h2(e))
	}
	st.addReason(c.run, reason)
	st.remember(sp, e)
}

// prepare fingerprints, sizes and describes a computed result for storing
// in e. It reports false, after recording why, if a step failed.
func (c *cache) prepare(st *site, e *entry, res unsafe.Pointer) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.internalError(st, "storing a result", r)
			ok = false
		}
	}()
	if c.checkMut {
		fp, fail := c.fingerprint(res)
		if fail != nil {
			c.internalError(st, "fingerprinting a result", fail.internal)
			return false
		}
		m := c.mut(e)
		m.fp = fp
		m.recv.Store(st)
	}
	c.inject(faultSize)
	size := c.sizeOf(res)
	if c.sizeOff != 0 {
		*(*int64)(unsafe.Add(unsafe.Pointer(e), c.sizeOff)) = size
	}
	if c.checkMut {
		c.inject(faultTree)
		c.mut(e).tree = treeOf(c.fpSet, c.resT, res, treeBudget(size), nil)
	}
	if c.cfg.ttl > 0 {
		now := c.now()
		*c.expires(e) = now + int64(c.cfg.ttl)
		c.expireDue(now)
	}
	return true
}

func treeBudget(size int64) int {
	return int(min(max(size/512, 32), 1024))
}

// record describes the arguments of a call for later miss reasons. ur
// holds the HashFunc results of the call's key hash.
func (c *cache) record(h1, h2 uint64, p unsafe.Pointer, ur *userRecord) *callRecord {
	rec := &callRecord{h1: h1, h2: h2, args: make([]*node, len(c.params))}
	for i, pm := range c.params {
		if pm.skip {
			continue
		}
		rec.args[i] = treeOf(c.keySet, pm.t, unsafe.Add(p, pm.off), c.argBudget, ur)
	}
	return rec
}

// reason explains a miss from the tombstones and the previous call at the
// site.
func (c *cache) reason(st *site, sp uintptr, e *entry) MissReason {
	if k, ok := c.takeTomb(e.h1, c.h2(e)); ok {
		return MissReason{Kind: k}
	}
	prev := st.previous(sp)
	if prev == nil {
		return MissReason{Kind: MissFirst}
	}
	if c.flat {
		return c.flatReason(c.key(prev), c.key(e))
	}
	pk, ek := c.keyInfo(prev), c.keyInfo(e)
	if prev.h1 == e.h1 && pk.h2 == ek.h2 {
		// Same arguments as the previous call here, yet not cached: it
		// was removed and the tombstone has been overwritten since.
		return MissReason{Kind: MissEvicted}
	}
	if pk.rec == nil || ek.rec == nil {
		return MissReason{Kind: MissArgs}
	}
	for i := range ek.rec.args {
		if i >= len(pk.rec.args) {
			break
		}
		if path, ok := diffTrees(pk.rec.args[i], ek.rec.args[i]); ok {
			return MissReason{Kind: MissArgs, Arg: i + 1, Path: path}
		}
	}
	return MissReason{Kind: MissArgs}
}

// flatReason is reason for flat keys: the args tuples prev and cur are
// compared parameter by parameter, down to the first differing field or
// element, without allocating (but for the path of the one found).
func (c *cache) flatReason(prev, cur unsafe.Pointer) MissReason {
	if c.eq(prev, cur) {
		// Same arguments as the previous call here, yet not cached: it
		// was removed and the tombstone has been overwritten since.
		return MissReason{Kind: MissEvicted}
	}
	for i, pm := range c.params {
		if pm.skip {
			continue
		}
		if path, ok := flatDiff(pm.t, unsafe.Add(prev, pm.off), unsafe.Add(cur, pm.off)); ok {
			return MissReason{Kind: MissArgs, Arg: i + 1, Path: path}
		}
	}
	return MissReason{Kind: MissArgs}
}

func (c *cache) addTomb(h1, h2 uint64, k MissKind) {
	c.tombMu.Lock()
	defer c.tombMu.Unlock()
	if c.tombs == nil {
		c.tombs = map[uint64]tomb{}
	}
	if _, ok := c.tombs[h1]; !ok {
		c.tombQ = append(c.tombQ, h1)
		if len(c.tombQ) > maxTombs {
			delete(c.tombs, c.tombQ[0])
			c.tombQ = c.tombQ[1:]
		}
	}
	c.tombs[h1] = tomb{h2: h2, reason: k}
}

func (c *cache) takeTomb(h1, h2 uint64) (MissKind, bool) {
	c.tombMu.Lock()
	defer c.tombMu.Unlock()
	t, ok := c.tombs[h1]
	if !ok || (!c.flat && t.h2 != h2) {
		return 0, false
	}
	delete(c.tombs, h1)
	return t.reason, true
}

// unlink removes e from its shard if it is still there.
func (c *cache) unlink(sh *shard, e *entry) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.unlink(e)
}

// remove takes a ready entry out of the cache, once, and remembers why.
func (c *cache) remove(e *entry, why MissKind) bool {
	if !e.removed.CompareAndSwap(false, true) {
		return false
	}
	c.unlink(&c.shards[e.h1&c.mask], e)
	c.addTomb(e.h1, c.h2(e), why)
	c.ctr[wire.CtrEntries].Add(-1)
	c.ctr[wire.CtrBytes].Add(-c.size(e))
	if c.cfg.maxEntries > 0 {
		c.lru.remove(e)
	}
	return true
}

// mutated handles a hit whose result no longer matches its fingerprint.
func (c *cache) mutated(st *site, sp uintptr, sh *shard, e *entry, h1, h2 uint64, p unsafe.Pointer, compute func(unsafe.Pointer) bool, rec *userRecord) unsafe.Pointer {
	path := c.mutationPath(st, e)
	if c.remove(e, MissMutated) {
		c.ctr[wire.CtrMutations].Add(1)
		c.logMutation(path, c.mut(e).recv.Load(), st)
	}
	return c.miss(st, sp, sh, h1, h2, p, compute, MissReason{Kind: MissMutated, Path: path}, rec)
}

// mutationPath names the changed part of e's result, or "" if it cannot.
func (c *cache) mutationPath(st *site, e *entry) (path string) {
	defer func() {
		if r := recover(); r != nil {
			c.internalError(st, "finding the changed part of a result", r)
			path = ""
		}
	}()
	if m := c.mut(e); m.tree != nil {
		c.inject(faultTree)
		now := treeOf(c.fpSet, c.resT, c.res(e), treeBudget(c.size(e)), nil)
		path, _ = diffTrees(m.tree, now)
	}
	return c.resultPath(path)
}

// resultPath turns a path inside the results tuple (".P0.Items[2]") into
// one a user reads: without the tuple for a single result ("Items[2]"),
// with the result's position otherwise ("result 2 .Items[2]").
func (c *cache) resultPath(path string) string {
	if !strings.HasPrefix(path, ".P") {
		return path
	}
	rest := path[2:]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	n, tail := rest[:i], rest[i:]
	values := c.resT.NumField()
	if values > 0 && c.resT.Field(values-1).Type == errorType {
		values--
	}
	if values <= 1 {
		return tail
	}
	idx := 0
	fmt.Sscan(n, &idx)
	if tail == "" {
		return fmt.Sprintf("result %d", idx+1)
	}
	return fmt.Sprintf("result %d %s", idx+1, tail)
}

// uncached runs a call whose arguments cannot be hashed (or whose cached
// result cannot be checked).
func (c *cache) uncached(st *site, sp uintptr, p unsafe.Pointer, fail *hashFailure, compute func(unsafe.Pointer) bool) unsafe.Pointer {
	st.counters(sp).uncached.Add(1)
	c.ctr[wire.CtrHashErrors].Add(1)
	st.remember(sp, nil)
	he := c.describe(p, fail)
	c.logHashError(he, st)
	if c.strict && fail.internal == nil {
		panic(&he)
	}
	res := reflect.New(c.resT).UnsafePointer()
	compute(res)
	return res
}

// describe turns a hash failure into a HashError naming the argument, the
// path inside it and the fix. It never panics.
func (c *cache) describe(p unsafe.Pointer, fail *hashFailure) (he HashError) {
	he = HashError{Func: shortName(c.name)}
	defer func() {
		if r := recover(); r != nil {
			he = HashError{Func: shortName(c.name), Internal: fmt.Sprintf("describing a hash error: %v", r)}
		}
	}()
	switch {
	case fail.internal != nil:
		he.Internal = fmt.Sprint(fail.internal)
		return he
	case fail.complex:
		return he
	}
	c.inject(faultDescribe)
	he.Type = fail.t.String()
	if fail.panicked != nil {
		he.Panic = fmt.Sprint(fail.panicked)
	}
	for i, pm := range c.params {
		if pm.skip {
			continue
		}
		path, types, ok := findFailure(c.keySet, pm.t, unsafe.Add(p, pm.off), fail)
		if !ok {
			continue
		}
		he.Arg, he.ArgType, he.Path = i+1, pm.t.String(), path
		if pm.t.Kind() == reflect.Interface && len(types) > 1 {
			// Name the concrete type seen at run time.
			he.ArgType = types[1].String()
		}
		if fail.panicked == nil {
			if s := suggestType(types, c.pkg); s != nil {
				he.Suggest = s.String()
			}
		}
		return he
	}
	return he
}

// internalError records a fault inside cacheruntime (r is what it panicked
// with) at one step of a call made at st. The call itself goes on.
func (c *cache) internalError(st *site, step string, r any) {
	defer func() { recover() }() // the record is best effort
	c.logHashError(HashError{Func: shortName(c.name), Internal: fmt.Sprintf("%s: %v", step, r)}, st)
}

func (c *cache) logHashError(he HashError, st *site) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	for _, r := range c.errLog {
		if r.err == he {
			r.count.Add(1)
			r.site.Store(st)
			atomic.StoreUint32(r.rsite, st.rid)
			return
		}
	}
	if len(c.errLog) >= maxLog {
		if c.errMore == nil {
			c.errMore = hashErrRecord(c.run, c.rid, HashError{Internal: "more distinct hash errors than are described"}, nil).count
		}
		c.errMore.Add(1)
		return
	}
	r := hashErrRecord(c.run, c.rid, he, st)
	r.count.Add(1)
	c.errLog = append(c.errLog, r)
}

func (c *cache) logMutation(path string, recv, det *site) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	for _, r := range c.mutLog {
		if r.path == path && r.recv == recv && r.detected == det {
			r.count.Add(1)
			return
		}
	}
	if len(c.mutLog) >= maxLog {
		if c.mutMore == nil {
			c.mutMore = mutRecord(c.run, c.rid, "(more distinct mutations than are described)", nil, nil).count
		}
		c.mutMore.Add(1)
		return
	}
	r := mutRecord(c.run, c.rid, path, recv, det)
	r.count.Add(1)
	c.mutLog = append(c.mutLog, r)
}

// expireDue removes the entries whose TTL has passed by now.
func (c *cache) expireDue(now int64) {
	for {
		e := c.exp.due(now)
		if e == nil {
			return
		}
		if c.remove(e, MissExpired) {
			c.ctr[wire.CtrExpired].Add(1)
		}
	}
}

// evictOver evicts least recently used entries while over MaxEntries,
// after removing expired ones (which make room without evicting).
func (c *cache) evictOver() {
	if c.ctr[wire.CtrEntries].Load() <= int64(c.cfg.maxEntries) {
		return
	}
	if c.cfg.ttl > 0 {
		c.expireDue(c.now())
	}
	for c.ctr[wire.CtrEntries].Load() > int64(c.cfg.maxEntries) {
		v := c.lru.victim()
		if v == nil {
			return
		}
		if c.remove(v, MissEvicted) {
			c.ctr[wire.CtrEvictions].Add(1)
		}
	}
}

// clear removes every entry.
func (c *cache) clear() {
	var all []*entry
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.each(func(e *entry) {
			if e.state.Load() == stReady {
				all = append(all, e)
			}
		})
		sh.mu.Unlock()
	}
	for _, e := range all {
		c.remove(e, MissCleared)
	}
	for _, t := range c.tiers {
		t.clear()
	}
}

// forget removes the entry for the args tuple at p.
func (c *cache) forget(p unsafe.Pointer) (bool, error) {
	h1, h2, fail := c.keyHash(p, nil)
	if fail != nil {
		he := c.describe(p, fail)
		return false, &he
	}
	stored := false
	if k, ok := c.storeKeyOf(p, h1, h2); ok && len(c.tiers) > 0 {
		for _, t := range c.tiers {
			stored = t.forget(k) || stored
		}
	}
	e := c.find(&c.shards[h1&c.mask], h1, h2, p)
	if e == nil || e.state.Load() != stReady {
		return stored, nil
	}
	return c.remove(e, MissCleared) || stored, nil
}
