// Package store is the language server's insight store: what the runs of
// programs using cacheruntime counted, aggregated by definition site (the
// Func call) and call site. The collector writes to it — the whole state
// of a run each time it reads the run's file, so an update is idempotent
// and nothing is lost or counted twice — and the LSP handlers read
// immutable snapshots and subscribe to changes.
//
// Which runs a snapshot counts: every run still going, and per program
// (its main package and executable name) the latest batch of runs — the
// latest run and those that started within BatchGap of the next later one
// in the batch. So repeated `go run .` shows the latest run; a hundred
// processes started together are summed; a service that restarts shows its
// new run (and its old one while it is still going). Runs that ended more
// than wire.RunRetention ago are forgotten, and the store holds at most
// MaxRuns runs.
//
// It serves the language server only and is not a stable API.
package store

import (
	"cmp"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cachelens/cachelens/wire"
)

// MaxRuns bounds the runs the store keeps; beyond it the runs that ended
// longest ago are forgotten first.
const MaxRuns = 256

// DefKey identifies a cached function by where Func was called.
type DefKey struct {
	File string
	Line int
}

// SiteKey identifies a call site of a cached function.
type SiteKey struct {
	Def  DefKey
	File string
	Line int
}

// ProcKey identifies one run: a process (pids are reused), its run file's
// start, and the run file's random id.
type ProcKey struct {
	PID   int
	Start time.Time
	ID    [16]byte
}

// Process is a run of a program.
type Process struct {
	Key       ProcKey
	Program   string // the executable
	Path      string // the main package
	Module    string
	GoVersion string
	Dir       string
	Revision  string // the VCS revision it was built from, if recorded
	Modified  bool   // built from a modified working tree
	Trimpath  bool   // built with -trimpath
	Connected bool   // still running
	Started   time.Time
	Ended     time.Time // when it was seen to have ended; zero while running
	LastSeen  time.Time // the last read of its counts
	Dropped   int64     // events that found no room in its run file
	Full      bool      // its run file reached its size bound
	Shown     bool      // its counts are in the snapshot's figures
}

// Source is a source file as a run's program saw it when it started.
type Source struct {
	Hash [32]byte
	// Verified: the hash is of the content the program was built from;
	// otherwise the file may have changed between the build and the run.
	Verified bool
}

// Store holds the reported data. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	runs    map[ProcKey]*runState
	version uint64
	last    *Snapshot // the snapshot of version, if built
	subs    map[*subscriber]struct{}
	now     func() time.Time
}

// runState is one run: its latest counts, the baseline a reset set, and
// when each distinct event last grew.
type runState struct {
	info    Process
	program string // identity of the program, for "a newer run of the same program"
	run     *wire.Run
	base    *wire.Run // counts at the last Reset, subtracted
	grew    map[eventKey]time.Time
	sum     int64 // a digest of all counts, to notice change
}

// eventKey names a distinct miss reason, hash error or mutation of a run.
type eventKey struct {
	kind      uint8
	a, b, c   uint32
	text, sub string
}

// New returns an empty store.
func New() *Store {
	return &Store{runs: map[ProcKey]*runState{}, subs: map[*subscriber]struct{}{}, now: time.Now}
}

// UpdateRun records the state of run r as just read: live tells whether
// its process is still running. The whole previous state of the run is
// replaced.
func (s *Store) UpdateRun(r *wire.Run, live bool) {
	if r == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	key := ProcKey{PID: r.PID, Start: r.Start, ID: r.ID}
	st := s.runs[key]
	if st == nil {
		st = &runState{grew: map[eventKey]time.Time{}}
		s.runs[key] = st
		st.info.Started = r.Start
	}
	prev := st.run
	st.run = r
	st.info.Key = key
	if p := r.Program; p != nil {
		st.info.Program, st.info.Path, st.info.Module, st.info.GoVersion, st.info.Dir = p.Exe, p.Path, p.Module, p.GoVersion, p.Dir
		st.info.Revision, st.info.Modified, st.info.Trimpath = p.Revision, p.Modified, p.Trimpath
		st.program = p.Path + "|" + filepath.Base(p.Exe)
	}
	st.info.Dropped, st.info.Full = r.Dropped, r.Full
	st.info.LastSeen = now
	wasLive := st.info.Connected
	st.info.Connected = live
	switch {
	case live:
		st.info.Ended = time.Time{}
	case st.info.Ended.IsZero():
		st.info.Ended = now
	}
	sum := st.noteGrowth(prev, now)
	if sum != st.sum || wasLive != live || prev == nil {
		st.sum = sum
		s.trim()
		s.changed()
	}
}

// noteGrowth records when each distinct event's count grew since prev and
// returns a digest of all counts.
func (st *runState) noteGrowth(prev *wire.Run, now time.Time) int64 {
	before := map[eventKey]int64{}
	if prev != nil {
		for k, n := range events(prev) {
			before[k] = n
		}
	}
	var sum int64
	for k, n := range events(st.run) {
		sum += n*31 + int64(len(k.text))
		if n > before[k] {
			st.grew[k] = now
		}
	}
	// Defs and Sites are maps: each is digested on its own and the
	// digests added, so the order they are visited in does not matter.
	for id, d := range st.run.Defs {
		h := int64(id)
		for _, c := range d.Counters {
			h = h*7 + c
		}
		sum += mix(h)
	}
	for id, x := range st.run.Sites {
		sum += mix(int64(id)*13 + x.Hits*3 + x.Misses*5 + x.Uncached*11)
	}
	for _, t := range st.run.Tiers {
		h := int64(t.Def)*17 + int64(len(t.Tier))
		for _, c := range t.Counters {
			h = h*7 + c
		}
		sum += mix(h)
	}
	return sum + int64(len(st.run.Defs))*1009 + int64(len(st.run.Sites))*2003 + int64(len(st.run.Sources))
}

// mix scrambles x (the finalizer of splitmix64), so that sums of mixed
// digests rarely cancel out.
func mix(x int64) int64 {
	u := uint64(x)
	u ^= u >> 30
	u *= 0xbf58476d1ce4e5b9
	u ^= u >> 27
	u *= 0x94d049bb133111eb
	u ^= u >> 31
	return int64(u)
}

// events returns the counts of a run's distinct events.
func events(r *wire.Run) map[eventKey]int64 {
	out := map[eventKey]int64{}
	for _, x := range r.Reasons {
		out[reasonKey(x)] += x.Count
	}
	for _, x := range r.HashErrs {
		out[errKey(x)] += x.Count
	}
	for _, x := range r.Muts {
		out[mutKey(x)] += x.Count
	}
	for _, x := range r.StoreErrs {
		out[storeErrEvent(x)] += x.Count
	}
	return out
}

func storeErrEvent(x wire.RunStoreErr) eventKey {
	return eventKey{kind: 4, a: x.Def, text: x.Message, sub: x.Tier}
}

func reasonKey(x wire.RunReason) eventKey {
	return eventKey{kind: 1, a: x.Site, text: x.Text}
}
func errKey(x wire.RunHashErr) eventKey {
	return eventKey{kind: 2, a: x.Def, text: x.Text, sub: x.Internal}
}
func mutKey(x wire.RunMutation) eventKey {
	return eventKey{kind: 3, a: x.Def, b: x.Recv, c: x.Detect, text: x.Path}
}

// trim forgets runs that ended more than wire.RunRetention ago, and the
// oldest ended runs beyond MaxRuns. s.mu is held.
func (s *Store) trim() {
	now := s.now()
	var ended []*runState
	for k, st := range s.runs {
		if st.info.Connected {
			continue
		}
		if now.Sub(st.info.Ended) > wire.RunRetention {
			delete(s.runs, k)
			continue
		}
		ended = append(ended, st)
	}
	if over := len(s.runs) - MaxRuns; over > 0 {
		slices.SortFunc(ended, func(a, b *runState) int { return a.info.Ended.Compare(b.info.Ended) })
		for _, st := range ended[:min(over, len(ended))] {
			delete(s.runs, st.info.Key)
		}
	}
}

// Reset zeroes every count: later snapshots count from now (the runs,
// definitions and sites stay).
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.runs {
		st.base = st.run
	}
	s.changed()
}

// Forget drops every run that has ended.
func (s *Store) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.runs {
		if !st.info.Connected {
			delete(s.runs, k)
		}
	}
	s.changed()
}

// changed bumps the version and wakes subscribers; s.mu must be held.
func (s *Store) changed() {
	s.version++
	for sub := range s.subs {
		select {
		case sub.raw <- struct{}{}:
		default:
		}
	}
}

// Version returns a number that grows with every change.
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// BatchGap is how close in time runs of one program must start to count
// as one batch: a script or `go test` starting many processes at once is
// summed, while runs made one at a time replace one another.
const BatchGap = 2 * time.Second

// shown returns the runs whose counts the snapshot shows: every run still
// going, and per program its latest batch of runs (see BatchGap). s.mu is
// held.
func (s *Store) shown() map[ProcKey]bool {
	byProgram := map[string][]*runState{}
	for _, st := range s.runs {
		byProgram[st.program] = append(byProgram[st.program], st)
	}
	out := map[ProcKey]bool{}
	for _, runs := range byProgram {
		slices.SortFunc(runs, func(a, b *runState) int { return b.info.Started.Compare(a.info.Started) })
		inBatch := true
		for i, st := range runs {
			inBatch = i == 0 || inBatch && runs[i-1].info.Started.Sub(st.info.Started) <= BatchGap
			if inBatch || st.info.Connected {
				out[st.info.Key] = true
			}
		}
	}
	return out
}

// Snapshot returns the aggregated data: one Def per definition site with
// the counts of the shown runs summed.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && s.last.Version == s.version {
		return s.last // snapshots are immutable
	}
	snap := &Snapshot{Version: s.version, defs: map[DefKey]*Def{}}
	defer func() { s.last = snap }()
	shown := s.shown()
	keys := make([]ProcKey, 0, len(s.runs))
	for k := range s.runs {
		keys = append(keys, k)
	}
	// Newest runs first, so their sources win.
	slices.SortFunc(keys, func(a, b ProcKey) int { return b.Start.Compare(a.Start) })
	for _, k := range keys {
		st := s.runs[k]
		info := st.info
		info.Shown = shown[k]
		snap.Processes = append(snap.Processes, info)
		if info.Shown {
			st.addTo(snap)
		}
	}
	for _, d := range snap.defs {
		for _, st := range d.sites {
			st.Reasons, st.reasons = st.reasons.list, distinct[string, Reason]{}
			slices.SortFunc(st.Reasons, func(a, b Reason) int { return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(b.seq, a.seq)) })
			d.Sites = append(d.Sites, *st)
		}
		slices.SortFunc(d.Sites, func(a, b Site) int {
			return cmp.Or(cmp.Compare(a.Key.File, b.Key.File), cmp.Compare(a.Key.Line, b.Key.Line))
		})
		d.HashErrs, d.hashErrs = d.hashErrs.list, distinct[hashErrKey, HashErr]{}
		d.MutationLog, d.mutations = d.mutations.list, distinct[mutationKey, Mutation]{}
		slices.SortFunc(d.HashErrs, func(a, b HashErr) int { return cmp.Compare(b.Count, a.Count) })
		slices.SortFunc(d.MutationLog, func(a, b Mutation) int { return cmp.Compare(b.Count, a.Count) })
		d.StoreErrs, d.storeErrs = d.storeErrs.list, distinct[storeErrKey, StoreErr]{}
		slices.SortFunc(d.StoreErrs, func(a, b StoreErr) int { return cmp.Compare(b.Count, a.Count) })
		for _, t := range d.tiers {
			d.Tiers = append(d.Tiers, *t)
		}
		slices.SortFunc(d.Tiers, func(a, b Tier) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Location, b.Location)) })
		d.sites, d.tiers = nil, nil
		snap.Defs = append(snap.Defs, d)
	}
	slices.SortFunc(snap.Defs, func(a, b *Def) int {
		return cmp.Or(cmp.Compare(a.Key.File, b.Key.File), cmp.Compare(a.Key.Line, b.Key.Line))
	})
	slices.SortFunc(snap.Processes, func(a, b Process) int { return a.Key.Start.Compare(b.Key.Start) })
	snap.index()
	return snap
}

// addTo adds the run's counts, less its baseline, to snap.
func (st *runState) addTo(snap *Snapshot) {
	r, base := st.run, st.base
	if base == nil {
		base = &wire.Run{}
	}
	sources := map[string]Source{}
	for _, src := range r.Sources {
		sources[src.Path] = Source{Hash: src.Hash, Verified: src.Verified}
	}
	defOf := map[uint32]*Def{}
	for id, d := range r.Defs {
		k := DefKey{File: d.File, Line: d.Line}
		agg := snap.defs[k]
		if agg == nil {
			agg = &Def{Key: k, Name: d.Name, Sig: d.Sig, AllowMutation: d.AllowMutation,
				TTL: d.TTL, MaxEntries: d.MaxEntries, Strict: d.Strict,
				sites: map[SiteKey]*Site{}, Built: map[string]Source{}}
			snap.defs[k] = agg
		}
		defOf[id] = agg
		c := d.Counters
		var b [wire.DefNCounter]int64
		if bd := base.Defs[id]; bd != nil {
			b = bd.Counters
		}
		agg.Counts = agg.Counts.Add(defCounts(c).Sub(defCounts(b)))
		if st.info.Connected {
			agg.Entries += c[wire.CtrEntries]
			agg.Bytes += c[wire.CtrBytes]
		}
		agg.Processes = append(agg.Processes, st.info.Key)
		if src, ok := sources[d.File]; ok {
			if _, seen := agg.Built[d.File]; !seen {
				agg.Built[d.File] = src
			}
		}
	}
	siteKey := func(id uint32) SiteKey {
		x := r.Sites[id]
		if x == nil || defOf[x.Def] == nil {
			return SiteKey{}
		}
		return SiteKey{Def: defOf[x.Def].Key, File: x.File, Line: x.Line}
	}
	for id, x := range r.Sites {
		agg := defOf[x.Def]
		if agg == nil {
			continue
		}
		sk := siteKey(id)
		as := agg.sites[sk]
		if as == nil {
			as = &Site{Key: sk, Func: x.Func}
			agg.sites[sk] = as
		}
		calls := siteCalls(x).Sub(siteCalls(base.Sites[id]))
		as.Calls = as.Calls.Add(calls)
		agg.Calls = agg.Calls.Add(calls)
		if src, ok := sources[x.File]; ok {
			if _, seen := agg.Built[x.File]; !seen {
				agg.Built[x.File] = src
			}
		}
	}
	baseCounts := events(base)
	for _, x := range r.Reasons {
		site := r.Sites[x.Site]
		if site == nil || defOf[site.Def] == nil {
			continue
		}
		n := x.Count - baseCounts[reasonKey(x)]
		if n <= 0 {
			continue
		}
		text := x.Text
		if text == "" {
			text = otherReasons
		}
		as := defOf[site.Def].sites[siteKey(x.Site)]
		add(&as.reasons, text, Reason{Kind: x.Kind, Arg: x.Arg, Path: x.Path, Text: text,
			Tally: Tally{Count: n, Last: st.grew[reasonKey(x)]}, seq: x.Seq}, otherReason)
	}
	for _, x := range r.HashErrs {
		agg := defOf[x.Def]
		if agg == nil {
			continue
		}
		n := x.Count - baseCounts[errKey(x)]
		if n <= 0 {
			continue
		}
		add(&agg.hashErrs, hashErrKey{x.Text, siteKey(x.Site)}, HashErr{HashErrDesc: x.HashErrDesc, Site: siteKey(x.Site),
			Tally: Tally{Count: n, Last: st.grew[errKey(x)]}}, otherHashErr)
	}
	for _, x := range r.Muts {
		agg := defOf[x.Def]
		if agg == nil {
			continue
		}
		n := x.Count - baseCounts[mutKey(x)]
		if n <= 0 {
			continue
		}
		m := Mutation{Path: x.Path, Recv: siteKey(x.Recv), Detect: siteKey(x.Detect),
			Tally: Tally{Count: n, Last: st.grew[mutKey(x)]}}
		add(&agg.mutations, mutationKey{m.Path, m.Recv, m.Detect}, m, otherMutation)
	}
	baseTiers := map[tierBase][wire.TierNCounter]int64{}
	for _, t := range base.Tiers {
		baseTiers[tierBase{t.Def, t.Tier}] = t.Counters
	}
	for _, t := range r.Tiers {
		agg := defOf[t.Def]
		if agg == nil {
			continue
		}
		if agg.tiers == nil {
			agg.tiers = map[tierKey]*Tier{}
		}
		k := tierKey{t.Tier, t.Location}
		at := agg.tiers[k]
		if at == nil {
			at = &Tier{Name: t.Tier, Location: t.Location, Basis: t.Basis}
			agg.tiers[k] = at
		}
		c, b := t.Counters, baseTiers[tierBase{t.Def, t.Tier}]
		at.Hits += c[wire.TierHits] - b[wire.TierHits]
		at.Misses += c[wire.TierMisses] - b[wire.TierMisses]
		at.Writes += c[wire.TierWrites] - b[wire.TierWrites]
		at.WriteBytes += c[wire.TierWriteBytes] - b[wire.TierWriteBytes]
		at.Errors += c[wire.TierErrors] - b[wire.TierErrors]
		at.CodeChanged += c[wire.TierCodeChanged] - b[wire.TierCodeChanged]
	}
	for _, x := range r.StoreErrs {
		agg := defOf[x.Def]
		if agg == nil {
			continue
		}
		n := x.Count - baseCounts[storeErrEvent(x)]
		if n <= 0 {
			continue
		}
		add(&agg.storeErrs, storeErrKey{x.Tier, x.Message}, StoreErr{Tier: x.Tier, Message: x.Message,
			Tally: Tally{Count: n, Last: st.grew[storeErrEvent(x)]}}, otherStoreErr)
	}
}

// tierBase finds a tier's counters in a run's baseline.
type tierBase struct {
	def  uint32
	tier string
}

type tierKey struct{ name, location string }

type storeErrKey struct{ tier, message string }

func otherStoreErr(x StoreErr) (storeErrKey, StoreErr) {
	return storeErrKey{x.Tier, otherStoreErrs}, StoreErr{Tier: x.Tier, Message: otherStoreErrs, Tally: x.Tally}
}

// MaxDistinct bounds the distinct miss reasons kept per call site, and the
// distinct hash errors and mutations kept per cached function, when the
// runs shown are summed: further distinct ones are counted together in
// one "more than are described" entry, so that a snapshot's size and the
// time to build it do not grow with what the programs report.
const MaxDistinct = 64

// distinct is a list of distinct events with an index by identity.
type distinct[K comparable, T any] struct {
	list []T
	at   map[K]int
}

// add counts x, identified by k, into its entry, or appends it; beyond
// MaxDistinct entries it is counted into the entry other makes.
func add[K comparable, T any, P interface {
	*T
	tally() *Tally
}](d *distinct[K, T], k K, x T, other func(x T) (K, T)) {
	if d.at == nil {
		d.at = map[K]int{}
	}
	i, ok := d.at[k]
	if !ok && len(d.list) >= MaxDistinct {
		k, x = other(x)
		i, ok = d.at[k]
	}
	if ok {
		P(&d.list[i]).tally().add(P(&x).tally())
		return
	}
	d.at[k] = len(d.list)
	d.list = append(d.list, x)
}

// otherText is the text of the entry that counts the distinct events a
// list has no room for.
const (
	otherReasons   = "other reasons (more distinct reasons than are described)"
	otherHashErrs  = "more distinct hash errors than are described"
	otherMutations = "(more distinct mutations than are described)"
	otherStoreErrs = "more distinct store errors than are described"
)

func otherReason(x Reason) (string, Reason) {
	return otherReasons, Reason{Kind: "other", Text: otherReasons, Tally: x.Tally, seq: x.seq}
}

type hashErrKey struct {
	text string
	site SiteKey
}

func otherHashErr(x HashErr) (hashErrKey, HashErr) {
	return hashErrKey{text: otherHashErrs}, HashErr{HashErrDesc: wire.HashErrDesc{Text: otherHashErrs}, Tally: x.Tally}
}

type mutationKey struct {
	path         string
	recv, detect SiteKey
}

func otherMutation(x Mutation) (mutationKey, Mutation) {
	return mutationKey{path: otherMutations}, Mutation{Path: otherMutations, Tally: x.Tally}
}
