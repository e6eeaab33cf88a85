package cacheruntime

import (
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestContendedStripesCountExactly: goroutines counting by P at once —
// more of them than Ps, all moving between Ps and colliding on stripes —
// lose and double no count.
func TestContendedStripesCountExactly(t *testing.T) {
	s := &site{stripes: make([]counters, nStripes)}
	var wg sync.WaitGroup
	const workers, calls = 8, 50_000
	for range workers {
		wg.Go(func() {
			for range calls {
				s.countHit(true, s.pStripe())
			}
		})
	}
	wg.Wait()
	if hits, _, _ := s.totals(); hits != workers*calls {
		t.Errorf("%d counted, want %d", hits, workers*calls)
	}
	if s.contended.Load() {
		t.Error("counting by P switched the site's mode")
	}
}

// TestPStripesKeepCoresApart: goroutines running at the same time on
// different Ps count on different stripes (with up to nStripes Ps), so
// counting by P never makes two cores write one line — the tokens drawn
// from a sync.Pool it replaced could choose the same stripe.
func TestPStripesKeepCoresApart(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 {
		t.Fatalf("GOMAXPROCS %d: this test needs two Ps", procs)
	}
	// Each goroutine notes its stripe whenever the other is running too
	// (both inside the window): two at once must never share one.
	s := &site{stripes: make([]counters, nStripes)}
	var inside atomic.Int32
	var shared, together atomic.Int64
	var mine [2]atomic.Pointer[counters]
	// Until 10,000 checks found both running, for at most 10 s (other
	// tests may hold the Ps meanwhile).
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; together.Load() < 10_000; i++ {
				if i%1024 == 0 && time.Now().After(deadline) {
					return
				}
				inside.Add(1)
				procPin()
				mine[g].Store(s.pStripe())
				if inside.Load() == 2 {
					if o := mine[1-g].Load(); o != nil {
						together.Add(1)
						if o == mine[g].Load() {
							shared.Add(1)
						}
					}
				}
				mine[g].Store(nil)
				procUnpin()
				inside.Add(-1)
			}
		})
	}
	wg.Wait()
	if together.Load() == 0 {
		t.Fatal("the two goroutines never ran at the same time")
	}
	if procs <= nStripes && shared.Load() != 0 {
		t.Errorf("two goroutines running at once shared a stripe %d times in %d", shared.Load(), together.Load())
	}
	for range 1000 {
		if id := procID(); id < 0 || id >= procs {
			t.Fatalf("procID %d outside [0, %d)", id, procs)
		}
	}
	t.Logf("%d checks with both goroutines running", together.Load())
}

// TestFlatSizingMatchesWalk: results of plain memory and strings are sized
// from their string offsets; the figure is the one the general walk gives.
func TestFlatSizingMatchesWalk(t *testing.T) {
	type inner struct {
		N    int
		Tags [2]string
	}
	type res struct {
		A  int
		S  string
		In inner
		F  float64
	}
	v := res{A: 1, S: "hello", In: inner{N: 2, Tags: [2]string{"ab", "cde"}}}
	rt := reflect.TypeFor[res]()
	offs, ok := stringOffsets(rt)
	if !ok || len(offs) != 3 {
		t.Fatalf("offsets %v %v", offs, ok)
	}
	c := &cache{resT: rt, resStrings: offs}
	p := unsafe.Pointer(&v)
	if got, want := c.sizeOf(p), int64(rt.Size())+sizeRefs(rt, p); got != want || want != int64(rt.Size())+10 {
		t.Errorf("flat size %d, walk %d", got, want)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[*int](), reflect.TypeFor[[]string](), reflect.TypeFor[struct{ M map[int]int }]()} {
		if _, ok := stringOffsets(typ); ok {
			t.Errorf("%v sized without a walk", typ)
		}
	}
}

// TestFlatDiffMatchesTrees: for flat keys, miss reasons compare the kept
// args directly (flatDiff); the path is the one the detail trees give.
func TestFlatDiffMatchesTrees(t *testing.T) {
	type date struct{ Y, M, D int }
	type query struct {
		Region string
		Date   date
		Tags   [3]string
		Limit  int
		Active bool
	}
	base := query{Region: "eu", Date: date{2026, 11, 26}, Tags: [3]string{"a", "b", "c"}, Limit: 10}
	set := newHashSet(modeKey, nil)
	qt := reflect.TypeFor[query]()
	for _, change := range []func(q *query){
		func(q *query) {},
		func(q *query) { q.Region = "us" },
		func(q *query) { q.Date.M = 12 },
		func(q *query) { q.Tags[2] = "z" },
		func(q *query) { q.Limit = 11; q.Tags[0] = "y" },
		func(q *query) { q.Active = true },
	} {
		q := base
		change(&q)
		a, b := unsafe.Pointer(&base), unsafe.Pointer(&q)
		want, wantOK := diffTrees(treeOf(set, qt, a, 64, nil), treeOf(set, qt, b, 64, nil))
		if got, ok := flatDiff(qt, a, b); got != want || ok != wantOK {
			t.Errorf("%+v: flatDiff %q %v, trees %q %v", q, got, ok, want, wantOK)
		}
	}
}

// TestEntryCarriesOnlyWhatItsCacheUses: an entry of a flat-key cache
// without MaxEntries, TTL or mutation check is the 24-byte core, the key
// copy and the result; each feature adds its part, and the offsets name
// the parts that exist.
func TestEntryCarriesOnlyWhatItsCacheUses(t *testing.T) {
	type args struct {
		ID   int
		Name string
	}
	type res struct {
		ID    int
		Name  string
		Score int
	}
	at, rt := reflect.TypeFor[args](), reflect.TypeFor[res]()
	bare, l := entryType(at, rt, true, true, false, false, false)
	if want := unsafe.Sizeof(entry{}) + at.Size() + rt.Size(); bare.Size() != want || unsafe.Sizeof(entry{}) != 24 {
		t.Errorf("bare entry %d bytes (core %d), want %d", bare.Size(), unsafe.Sizeof(entry{}), want)
	}
	if l.mutOff|l.lruOff|l.ttlOff|l.keyInfoOff|l.sizeOff != 0 || l.keyOff == 0 || l.resOff == 0 {
		t.Errorf("bare layout %+v", l)
	}
	full, l := entryType(at, rt, false, false, true, true, true)
	if full.Size() <= bare.Size() || l.mutOff == 0 || l.lruOff == 0 || l.ttlOff == 0 || l.keyInfoOff == 0 || l.sizeOff == 0 || l.keyOff != 0 {
		t.Errorf("full entry %d bytes, layout %+v", full.Size(), l)
	}
}

// TestHitPathProbesNoStripe: the code that picks a hit's counter stripe
// must not read memory to check a pointer for nil. Indexing an array
// through a pointer does (the compiler reads the array's first byte), and
// that byte is stripe 0's, which one goroutine writes on each of its hits:
// every other goroutine's hits then read a line it writes, and two
// goroutines on one site ran 2–4× slower whenever one counted in stripe 0
// (bench/cachebench, one key on both cores). Checked in the compiler's
// output for amd64.
func TestHitPathProbesNoStripe(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("reads amd64 assembly")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "build", "-gcflags=-S", "-o", os.DevNull, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, fn := range []string{"(*site).counters", "(*site).pStripe"} {
		body, ok := asmOf(string(out), "cacheruntime."+fn+" STEXT")
		if !ok {
			t.Fatalf("%s not in the compiler's output", fn)
		}
		if strings.Contains(body, "TESTB\tAL, (") {
			t.Errorf("%s reads memory to check a pointer for nil:\n%s", fn, body)
		}
	}
}

// asmOf returns one function's listing from `go build -gcflags=-S` output.
func asmOf(out, header string) (string, bool) {
	i := strings.Index(out, header)
	if i < 0 {
		return "", false
	}
	body := out[i:]
	if j := strings.Index(body[len(header):], " STEXT"); j >= 0 {
		body = body[:len(header)+j]
	}
	return body, true
}

// TestStackStripesSwitchOnlyWhenContended: goroutines that follow one
// another on a site's stack stripe (a request's goroutine after
// another's) keep counting there; two counting on one stripe at the same
// time make the site switch to counting by P. No count is lost either
// way.
func TestStackStripesSwitchOnlyWhenContended(t *testing.T) {
	s := &site{stripes: make([]counters, nStripes)}
	c := &s.stripes[3]
	for range 100 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 1000 {
				s.countHit(false, c)
			}
		}()
		<-done
	}
	if s.contended.Load() {
		t.Fatal("goroutines one after another switched the site to counting by P")
	}
	if got := c.hits.Load(); got != 100_000 {
		t.Fatalf("%d hits counted, want 100000", got)
	}

	// Two goroutines at once on one stripe, until the site notices.
	if runtime.GOMAXPROCS(0) < 2 {
		t.Fatalf("GOMAXPROCS %d: this test needs two Ps to count at once", runtime.GOMAXPROCS(0))
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := 0; i < 50_000_000 && !s.contended.Load(); i++ {
				s.countHit(false, c)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if !s.contended.Load() {
		t.Error("two goroutines counting at once on one stripe did not switch the site to counting by P")
	}
	if got, want := c.hits.Load(), 100_000+n.Load(); got != want {
		t.Errorf("%d hits counted, want %d", got, want)
	}
}

// TestLastSlotKeepsItsOwner: two goroutines whose stacks share a
// previous-call slot do not both write it on every hit (which made a Zipf
// mix on two cores 3× slower): the slot records the goroutine that
// claimed it, the other's hits leave it alone, and a miss takes it over.
func TestLastSlotKeepsItsOwner(t *testing.T) {
	c := &cache{}
	st := &site{stripes: make([]counters, nStripes)}
	spA := uintptr(0x40100400) // fits 32-bit platforms too
	spB := spA + 1<<11
	for slotOf(spB) != slotOf(spA) {
		spB += 1 << 11
	}
	a1, a2, b1, b2 := new(entry), new(entry), new(entry), new(entry)

	c.hit(st, spA, a1) // A claims the empty slot
	c.hit(st, spB, b1) // B's hit leaves A's record alone
	if got := st.previous(spA); got != a1 {
		t.Fatalf("after B's hit, A's previous call is %p, want A's %p (B's is %p)", got, a1, b1)
	}
	c.hit(st, spA, a2)
	if got := st.previous(spA); got != a2 {
		t.Fatalf("the owner's hit was not recorded")
	}

	st.remember(spB, b1) // B's miss takes the slot over
	c.hit(st, spA, a1)
	if got := st.previous(spB); got != b1 {
		t.Fatalf("after A's hit, B's previous call is %p, want its miss %p", got, b1)
	}
	c.hit(st, spB, b2)
	if got := st.previous(spB); got != b2 {
		t.Fatalf("the new owner's hit was not recorded")
	}
	// A goroutine alone in its slot records every call.
	spC := spA + 1<<11
	for slotOf(spC) == slotOf(spA) {
		spC += 1 << 11
	}
	for _, e := range []*entry{a1, b1, a2} {
		c.hit(st, spC, e)
		if st.previous(spC) != e {
			t.Fatalf("a goroutine alone in its slot lost a call")
		}
	}
}
