// Package store is the language server's insight store: what every
// reporting program said about its caches, aggregated by definition site
// (the Func call) and call site across processes. The collector writes to
// it; the LSP handlers read immutable snapshots and subscribe to changes.
package store

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/cachelens/cachelens/wire"
)

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

// ProcKey identifies one process instance (pids are reused).
type ProcKey struct {
	PID   int
	Start time.Time
}

// Process is a program that reported.
type Process struct {
	Key       ProcKey
	Program   string
	Module    string
	GoVersion string
	Dir       string
	Built     time.Time // executable modification time: the source it was built from is no newer
	Connected bool
	LastSeen  time.Time
	Drops     int64
}

// Store holds the reported data. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	procs   map[ProcKey]*procState
	version uint64
	last    *Snapshot // the snapshot of version, if built
	subs    map[*subscriber]struct{}
	now     func() time.Time
}

type procState struct {
	info  Process
	gen   int
	defs  map[int]*defState
	sites map[int]*siteState
}

// siteKey names the process's call site id of d by where it is, or is the
// zero key when the process has not described that site.
func (p *procState) siteKey(d *defState, id int) SiteKey {
	st := p.sites[id]
	if st == nil {
		return SiteKey{}
	}
	return SiteKey{Def: defKey(d.def), File: st.site.File, Line: st.site.Line}
}

type defState struct {
	def    wire.Def
	counts wire.DefCounts // accumulated deltas; Entries and Bytes are current values
	errs   map[hashErrKey]*HashErr
	muts   map[mutKey]*Mutation
}

type hashErrKey struct {
	text string
	site int
}

type mutKey struct {
	path         string
	recv, detect int
}

type siteState struct {
	site                   wire.Site
	hits, misses, uncached int64
	reasons                map[string]*Reason
}

// New returns an empty store.
func New() *Store {
	return &Store{procs: map[ProcKey]*procState{}, subs: map[*subscriber]struct{}{}, now: time.Now}
}

// A Session applies the messages of one connection. Messages from a
// session that a newer connection of the same process replaced are
// ignored.
type Session struct {
	s    *Store
	key  ProcKey
	gen  int
	open bool
}

// Hello starts (or restarts) the data of the process h describes. Counts
// on a connection are deltas from the connection's start, so a process
// that reconnects starts over from zero.
func (s *Store) Hello(h *wire.Hello) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ProcKey{PID: h.PID, Start: h.Start}
	p := s.procs[key]
	gen := 1
	if p != nil {
		gen = p.gen + 1
	}
	s.procs[key] = &procState{
		info: Process{Key: key, Program: h.Program, Module: h.Module, GoVersion: h.GoVersion, Dir: h.Dir, Built: h.Built,
			Connected: true, LastSeen: s.now()},
		gen:   gen,
		defs:  map[int]*defState{},
		sites: map[int]*siteState{},
	}
	s.changed()
	return &Session{s: s, key: key, gen: gen, open: true}
}

// proc returns the session's process state if the session is current.
// The store's lock must be held.
func (ss *Session) proc() *procState {
	p := ss.s.procs[ss.key]
	if p == nil || p.gen != ss.gen {
		return nil
	}
	p.info.LastSeen = ss.s.now()
	return p
}

// Apply records one decoded message (a pointer to a wire message type).
func (ss *Session) Apply(msg any) {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := ss.proc()
	if p == nil {
		return
	}
	switch m := msg.(type) {
	case *wire.Def:
		if d, ok := p.defs[m.ID]; ok {
			d.def = *m
		} else {
			p.defs[m.ID] = &defState{def: *m, errs: map[hashErrKey]*HashErr{}, muts: map[mutKey]*Mutation{}}
		}
	case *wire.Site:
		if st, ok := p.sites[m.ID]; ok {
			st.site = *m
		} else {
			p.sites[m.ID] = &siteState{site: *m, reasons: map[string]*Reason{}}
		}
	case *wire.Stats:
		for _, c := range m.Sites {
			if st := p.sites[c.Site]; st != nil {
				st.hits += c.Hits
				st.misses += c.Misses
				st.uncached += c.Uncached
			}
		}
		for _, c := range m.Defs {
			d := p.defs[c.Def]
			if d == nil {
				continue
			}
			a := &d.counts
			a.Evictions += c.Evictions
			a.Expired += c.Expired
			a.Mutations += c.Mutations
			a.HashErrors += c.HashErrors
			a.ComputeNs += c.ComputeNs
			a.Computes += c.Computes
			a.HashNs += c.HashNs
			a.HashN += c.HashN
			a.Entries, a.Bytes = c.Entries, c.Bytes
		}
	case *wire.Miss:
		if st := p.sites[m.Site]; st != nil {
			r := st.reasons[m.Text]
			if r == nil {
				r = &Reason{Kind: m.Kind, Arg: m.Arg, Path: m.Path, Text: m.Text}
				st.reasons[m.Text] = r
			}
			r.Count += m.Count
			r.Last = s.now()
		}
	case *wire.HashErr:
		if d := p.defs[m.Def]; d != nil {
			k := hashErrKey{m.Text, m.Site}
			e := d.errs[k]
			if e == nil {
				e = &HashErr{Arg: m.Arg, ArgType: m.ArgType, Path: m.Path, Type: m.Type, Panic: m.Panic, Suggest: m.Suggest, Text: m.Text}
				e.Site = p.siteKey(d, m.Site)
				d.errs[k] = e
			}
			e.Count += m.Count
			e.Last = s.now()
		}
	case *wire.Mutation:
		if d := p.defs[m.Def]; d != nil {
			k := mutKey{m.Path, m.Recv, m.Detect}
			mu := d.muts[k]
			if mu == nil {
				mu = &Mutation{Path: m.Path, Recv: p.siteKey(d, m.Recv), Detect: p.siteKey(d, m.Detect)}
				d.muts[k] = mu
			}
			mu.Count += m.Count
			mu.Last = s.now()
		}
	case *wire.Drops:
		p.info.Drops += m.Count
	case *wire.Hello:
		// A second hello on one connection is a protocol error; the
		// collector rejects it before it gets here.
		return
	}
	s.changed()
}

// Close marks the session's process as disconnected (its data stays).
func (ss *Session) Close() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ss.open {
		return
	}
	ss.open = false
	if p := ss.proc(); p != nil {
		p.info.Connected = false
		s.changed()
	}
}

func defKey(d wire.Def) DefKey { return DefKey{File: d.File, Line: d.Line} }

// Reset zeroes every count (the definitions, sites and processes stay).
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		for _, d := range p.defs {
			d.counts = wire.DefCounts{Def: d.counts.Def, Entries: d.counts.Entries, Bytes: d.counts.Bytes}
			clear(d.errs)
			clear(d.muts)
		}
		for _, st := range p.sites {
			st.hits, st.misses, st.uncached = 0, 0, 0
			clear(st.reasons)
		}
	}
	s.changed()
}

// Forget drops every disconnected process (and its data).
func (s *Store) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.procs {
		if !p.info.Connected {
			delete(s.procs, k)
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

// Snapshot returns the aggregated data: one Def per definition site with
// the counts of every process summed.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && s.last.Version == s.version {
		return s.last // snapshots are immutable
	}
	snap := &Snapshot{Version: s.version, defs: map[DefKey]*Def{}}
	defer func() { s.last = snap }()
	for _, p := range s.procs {
		snap.Processes = append(snap.Processes, p.info)
		for _, d := range p.defs {
			k := defKey(d.def)
			agg := snap.defs[k]
			if agg == nil {
				agg = &Def{Key: k, Name: d.def.Name, Sig: d.def.Sig, AllowMutation: d.def.AllowMutation,
					TTL: time.Duration(d.def.TTL), MaxEntries: d.def.MaxEntries, Strict: d.def.Strict,
					sites: map[SiteKey]*Site{}}
				snap.defs[k] = agg
			}
			c := d.counts
			agg.Evictions += c.Evictions
			agg.Expired += c.Expired
			agg.Mutations += c.Mutations
			agg.HashErrors += c.HashErrors
			agg.ComputeNs += c.ComputeNs
			agg.Computes += c.Computes
			agg.HashNs += c.HashNs
			agg.HashN += c.HashN
			if p.info.Connected {
				agg.Entries += c.Entries
				agg.Bytes += c.Bytes
			}
			agg.Processes = append(agg.Processes, p.info.Key)
			if p.info.Built.After(agg.Built) {
				agg.Built = p.info.Built
			}
			for _, e := range d.errs {
				agg.HashErrs = merge(agg.HashErrs, *e, sameHashErr)
			}
			for _, m := range d.muts {
				agg.MutationLog = merge(agg.MutationLog, *m, sameMutation)
			}
		}
		for _, st := range p.sites {
			d := p.defs[st.site.Def]
			if d == nil {
				continue
			}
			agg := snap.defs[defKey(d.def)]
			sk := SiteKey{Def: agg.Key, File: st.site.File, Line: st.site.Line}
			as := agg.sites[sk]
			if as == nil {
				as = &Site{Key: sk, Func: st.site.Func}
				agg.sites[sk] = as
			}
			as.Hits += st.hits
			as.Misses += st.misses
			as.Uncached += st.uncached
			agg.Hits += st.hits
			agg.Misses += st.misses
			agg.Uncached += st.uncached
			for _, r := range st.reasons {
				as.Reasons = merge(as.Reasons, *r, sameReason)
			}
		}
	}
	for _, d := range snap.defs {
		for _, st := range d.sites {
			slices.SortFunc(st.Reasons, func(a, b Reason) int { return b.Last.Compare(a.Last) })
			d.Sites = append(d.Sites, *st)
		}
		slices.SortFunc(d.Sites, func(a, b Site) int {
			return cmp.Or(cmp.Compare(a.Key.File, b.Key.File), cmp.Compare(a.Key.Line, b.Key.Line))
		})
		slices.SortFunc(d.HashErrs, func(a, b HashErr) int { return cmp.Compare(b.Count, a.Count) })
		slices.SortFunc(d.MutationLog, func(a, b Mutation) int { return cmp.Compare(b.Count, a.Count) })
		d.sites = nil
		snap.Defs = append(snap.Defs, d)
	}
	slices.SortFunc(snap.Defs, func(a, b *Def) int {
		return cmp.Or(cmp.Compare(a.Key.File, b.Key.File), cmp.Compare(a.Key.Line, b.Key.Line))
	})
	slices.SortFunc(snap.Processes, func(a, b Process) int { return a.Key.Start.Compare(b.Key.Start) })
	return snap
}

// merge counts x into the entry of list that is the same one, or appends
// it: the same miss reason, hash error or mutation reported by several
// processes is one entry with the sum of their counts.
func merge[T any, P interface {
	*T
	tally() *Tally
}](list []T, x T, same func(a, b *T) bool) []T {
	for i := range list {
		if same(&list[i], &x) {
			P(&list[i]).tally().add(P(&x).tally())
			return list
		}
	}
	return append(list, x)
}

func sameReason(a, b *Reason) bool { return a.Text == b.Text }

func sameHashErr(a, b *HashErr) bool { return a.Text == b.Text && a.Site == b.Site }

func sameMutation(a, b *Mutation) bool {
	return a.Path == b.Path && a.Recv == b.Recv && a.Detect == b.Detect
}
