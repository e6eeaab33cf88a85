package cacheruntime

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cachelens/cachelens/cacheruntime/internal/callers"
	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
)

// A site is one place in the program that calls a cached function. Sites
// are identified by program counter on the hot path and resolved to
// file:line only when statistics are read.
type site struct {
	pc  uintptr
	id  int    // index within its cache
	rid uint32 // its record id in the run file
	// stripes (nStripes of them) are in the site's record of the run file,
	// or on the heap. A slice, not a pointer to an array: indexing an
	// array through a pointer makes the compiler check the pointer by
	// reading the array's first byte, so every hit from every goroutine
	// would read stripe 0's line — a line one goroutine writes on each
	// of its hits, which made two goroutines on one site 2–4× slower
	// whenever one of them counted in stripe 0. A slice is checked
	// against its length instead.
	stripes   []counters
	contended atomic.Bool // two goroutines counted hits on one stack stripe at once: count by P

	// The slots hits write stay off the lines of the fields above, which
	// every hit reads, and off those below.
	_       [64]byte
	lasts   [nLasts]lastCall // the previous call made here, per goroutine (by stack)
	_       [64]byte
	lastAny atomic.Pointer[entry] // the latest miss here, from any goroutine

	resolve sync.Once
	file    string
	line    int
	fn      string

	mu       sync.Mutex
	reasons  []reasonCount // distinct reasons, at most maxReasons
	other    *atomic.Int64 // misses for reasons beyond maxReasons
	otherSeq *atomic.Int64
	seq      int64
}

// counters are striped so that goroutines hitting the same site from
// several cores do not fight over one cache line.
type counters struct {
	hits, misses, uncached atomic.Int64

	// The rest of the stripe's line is padding (readers of the run file
	// ignore it).
	_ [40]byte
}

const nStripes = 8

// lastCall is the previous call made at a site by the goroutines whose
// stacks hash to one slot, on a cache line of its own: hits store it, and
// goroutines on other cores must not contend for it. Slots are chosen by
// stack address, not by P, because "the previous call here" must follow
// a goroutine: goroutines move between Ps.
//
// Two goroutines whose stacks share a slot (one pair in nLasts) would
// write it by turns on every hit, each write waiting for the line from
// the other core — a Zipf mix on two cores ran 3× slower so. The slot
// therefore has an owner, the stack region of the goroutine whose calls
// it records: hits of another goroutine leave it alone, and a miss, which
// is slow anyway, takes it over. A goroutine that shares its slot then
// has its hits recorded only until another's miss, and its next miss is
// explained against the owner's previous call instead of its own.
type lastCall struct {
	atomic.Pointer[entry]
	owner atomic.Uintptr // stackRegion of the goroutine the slot records; 0: none yet
	_     [48]byte
}

// stackRegion identifies the goroutine whose stack holds sp, as slotOf
// does: by its 2 KiB region of stack.
func stackRegion(sp uintptr) uintptr { return sp>>11 + 1 }

// claim makes the goroutine whose stack holds sp the owner of the slot,
// which had none, and records e, unless another goroutine claimed it
// first.
func (l *lastCall) claim(sp uintptr, e *entry) {
	if l.owner.CompareAndSwap(0, stackRegion(sp)) {
		l.Store(e)
	}
}

// pStripe returns the stripe of the P the caller runs on: goroutines
// running at the same time run on different Ps and, with up to nStripes
// Ps, count on different cache lines. The caller may move to another P
// right after; it then shares a stripe for one count, which countHit's
// compare-and-swap notices and pays for, and no count is lost.
func (s *site) pStripe() *counters { return &s.stripes[procID()&(nStripes-1)] }

// nLasts is the number of previous-call slots per site: two goroutines
// share one with probability 1/nLasts.
const (
	lastBits = 5
	nLasts   = 1 << lastBits
)

// slotOf returns the previous-call slot of the goroutine whose stack holds
// sp (distinct goroutines have distinct stacks; a goroutine keeps its slot
// unless its stack moves).
func slotOf(sp uintptr) int {
	a := uint64(stackRegion(sp))
	return int(a * 0x9E3779B97F4A7C15 >> (64 - lastBits)) // Fibonacci hashing: the top bits
}

// counters returns the stripe of the goroutine whose stack holds sp: where
// its misses and uncached calls count, and its hits until the site counts
// hits by P (countHit).
func (s *site) counters(sp uintptr) *counters { return &s.stripes[slotOf(sp)&(nStripes-1)] }

// countHit counts a hit in c: the stripe of the stack that holds sp
// (site.counters), which costs nothing to find, or, once hits here have
// collided (byP), the stripe of the caller's P (pStripe). Counting is a
// load and a compare-and-swap; the swap fails only when another core
// changed the counter in between — two goroutines counting on one stripe
// at once — and then the count is an add, and a site counting by stack
// switches to counting by P for good: goroutines on different Ps stay
// apart (counting on a line another core writes costs more than asking
// for the P). Goroutines that follow one another on a stack stripe, as
// those of successive requests or benchmark rounds do, keep the cheaper
// stack stripes.
func (s *site) countHit(byP bool, c *counters) {
	if v := c.hits.Load(); !c.hits.CompareAndSwap(v, v+1) {
		if !byP {
			s.contended.Store(true)
		}
		c.hits.Add(1)
	}
}

// last returns the previous-call slot of the goroutine whose stack holds
// sp (the call's mark: cache.callAt).
func (s *site) last(sp uintptr) *lastCall { return &s.lasts[slotOf(sp)] }

// previous returns the previous call made here by the calling goroutine,
// or, if its slot is empty (its first call here, or its stack moved), the
// latest miss here from any goroutine.
func (s *site) previous(sp uintptr) *entry {
	if r := s.last(sp).Load(); r != nil {
		return r
	}
	return s.lastAny.Load()
}

// remember records e, a miss, as the calling goroutine's previous call
// here, taking its slot over.
func (s *site) remember(sp uintptr, e *entry) {
	l := s.last(sp)
	if l.owner.Load() != stackRegion(sp) {
		l.owner.Store(stackRegion(sp))
	}
	l.Store(e)
	s.lastAny.Store(e)
}

func (s *site) totals() (hits, misses, uncached int64) {
	for i := range s.stripes {
		hits += s.stripes[i].hits.Load()
		misses += s.stripes[i].misses.Load()
		uncached += s.stripes[i].uncached.Load()
	}
	return
}

// reasonCount is a distinct miss reason at a site; its count is in its
// record of the run file.
type reasonCount struct {
	reason MissReason
	count  *atomic.Int64
	seq    *atomic.Int64 // the site's miss number when it last happened
}

// maxReasons bounds the distinct miss reasons kept per site; further
// distinct ones are counted together as "other reasons".
const maxReasons = 32

func (s *site) where() (file string, line int, fn string) {
	s.resolve.Do(func() {
		if s.pc == 0 {
			s.file, s.fn = "?", "?"
			return
		}
		fr, _ := runtime.CallersFrames([]uintptr{s.pc}).Next()
		s.file, s.line, s.fn = fr.File, fr.Line, fr.Function
	})
	return s.file, s.line, s.fn
}

func (s *site) addReason(run *runfile.File, r MissReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	for i := range s.reasons {
		if s.reasons[i].reason == r {
			s.reasons[i].count.Add(1)
			s.reasons[i].seq.Store(s.seq)
			return
		}
	}
	if len(s.reasons) >= maxReasons {
		if s.other == nil {
			s.other, s.otherSeq = reasonRecord(run, s, MissReason{}, "")
		}
		s.other.Add(1)
		s.otherSeq.Store(s.seq)
		return
	}
	c, q := reasonRecord(run, s, r, r.String())
	c.Add(1)
	q.Store(s.seq)
	s.reasons = append(s.reasons, reasonCount{reason: r, count: c, seq: q})
}

// recentReasons returns the site's reasons, most recent first.
func (s *site) recentReasons() []ReasonCount {
	s.mu.Lock()
	rs := slices.Clone(s.reasons)
	s.mu.Unlock()
	slices.SortFunc(rs, func(a, b reasonCount) int { return cmp.Compare(b.seq.Load(), a.seq.Load()) })
	out := make([]ReasonCount, len(rs))
	for i, r := range rs {
		out[i] = ReasonCount{Reason: r.reason, Count: r.count.Load()}
	}
	return out
}

// siteTable maps program counters to sites. Reads take no lock: the table
// is an immutable slice replaced on the rare insert. Several program
// counters can belong to one source call site (a function inlined in
// several places), so a new counter is resolved once and joins the site
// with the same file, line and function.
type siteTable struct {
	list  atomic.Pointer[siteList]
	sites []*site // distinct sites, guarded by mu
	mu    sync.Mutex
	cache *cache // the cache whose sites these are

	// internal records return addresses that lie inside this package (the
	// wrapper closures), so the next frame out is the real call site.
	internal    atomic.Uintptr
	internalPCs atomic.Pointer[[]uintptr] // for reflectCaller
	classMu     sync.Mutex
	classes     map[uintptr]bool
}

type pcSite struct {
	pc uintptr
	s  *site
}

// A siteList is what every call reads to find its site. It and its
// array fill whole cache lines (64 bytes, a size class of the Go
// allocator, so each is also aligned to a line): a smaller object would
// share its line with whatever the program allocated beside it, and a
// neighbour written on every call of another goroutine — the testing
// package's PB counter was one — would make each call here wait for that
// line.
type siteList struct {
	pcs []pcSite
	_   [64 - unsafe.Sizeof([]pcSite{})]byte
}

// newSiteList returns a list of old's entries and one more, with room
// for whole cache lines.
func newSiteList(old []pcSite, e pcSite) *siteList {
	const perLine = 64 / int(unsafe.Sizeof(pcSite{}))
	n := len(old) + 1
	l := &siteList{pcs: make([]pcSite, n, (n+perLine-1)/perLine*perLine)}
	copy(l.pcs, old)
	l.pcs[n-1] = e
	return l
}

func (t *siteTable) get(pc uintptr) *site {
	if l := t.list.Load(); l != nil {
		for _, e := range l.pcs {
			if e.pc == pc {
				return e.s
			}
		}
	}
	return t.add(pc)
}

func (t *siteTable) add(pc uintptr) *site {
	t.mu.Lock()
	defer t.mu.Unlock()
	var old []pcSite
	if l := t.list.Load(); l != nil {
		old = l.pcs
		for _, e := range old {
			if e.pc == pc {
				return e.s
			}
		}
	}
	s := &site{pc: pc}
	file, line, fn := s.where()
	found := false
	for _, o := range t.sites {
		if f, l, n := o.where(); f == file && l == line && n == fn {
			s, found = o, true
			break
		}
	}
	if !found {
		s.id = len(t.sites)
		if c := t.cache; c != nil {
			siteRecord(c.run, s, c.rid)
			c.rep.noteFile(file)
		} else {
			s.stripes = make([]counters, nStripes)
		}
		t.sites = append(t.sites, s)
	}
	t.list.Store(newSiteList(old, pcSite{pc, s}))
	return s
}

func (t *siteTable) all() []*site {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.sites)
}

// pick chooses the call site from the two return addresses the wrapper saw:
// pc1 is where the cache's entry method returns to (normally the wrapper
// closure inside this package) and pc2 one frame further out. When the
// wrapper was inlined into the caller, pc1 is already the call site.
func (t *siteTable) pick(pc1, pc2 uintptr) uintptr {
	if pc1 == t.internal.Load() {
		return pc2
	}
	return t.classify(pc1, pc2)
}

func (t *siteTable) classify(pc1, pc2 uintptr) uintptr {
	t.classMu.Lock()
	defer t.classMu.Unlock()
	in, ok := t.classes[pc1]
	if !ok {
		in = isInternalPC(pc1)
		if t.classes == nil {
			t.classes = map[uintptr]bool{}
		}
		if len(t.classes) < 1024 {
			t.classes[pc1] = in
		}
		if in {
			t.internal.Store(pc1)
		}
	}
	if in {
		return pc2
	}
	return pc1
}

const pkgPath = "github.com/cachelens/cachelens/cacheruntime."

func isInternalPC(pc uintptr) bool {
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return isInternalName(fr.Function)
}

// isInternalName reports whether a function belongs to this package (and
// not to its tests).
func isInternalName(fn string) bool {
	return strings.HasPrefix(fn, pkgPath) && !strings.HasPrefix(fn, pkgPath+"Test")
}

// reflectCaller returns the call site of a function made with
// reflect.MakeFunc: the first frame outside reflect and this package.
// Return addresses already known to be internal are skipped without a
// lock.
func (t *siteTable) reflectCaller() uintptr {
	var pcs [6]uintptr
	n := callers.Callers(pcs[:])
	known := t.internalPCs.Load()
	sites := t.list.Load()
outer:
	for _, pc := range pcs[:n] {
		if known != nil {
			for _, k := range *known {
				if k == pc {
					continue outer
				}
			}
		}
		// A call site seen before is the caller: no lock on the hit path.
		if sites != nil {
			for _, e := range sites.pcs {
				if e.pc == pc {
					return pc
				}
			}
		}
		if !t.classifyReflect(pc) {
			return pc
		}
	}
	return 0
}

func (t *siteTable) classifyReflect(pc uintptr) bool {
	t.classMu.Lock()
	defer t.classMu.Unlock()
	in, ok := t.classes[pc]
	if ok {
		return in
	}
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	in = strings.HasPrefix(fr.Function, "reflect.") || isInternalName(fr.Function)
	if t.classes == nil {
		t.classes = map[uintptr]bool{}
	}
	if len(t.classes) < 1024 {
		t.classes[pc] = in
	}
	if in {
		var list []uintptr
		if k := t.internalPCs.Load(); k != nil {
			list = append(list, *k...)
		}
		if len(list) < 16 {
			list = append(list, pc)
			t.internalPCs.Store(&list)
		}
	}
	return in
}
