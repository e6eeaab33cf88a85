package store

import (
	"time"

	"github.com/cachelens/cachelens/wire"
)

// Snapshot is an immutable view of the store. Its slices must not be
// modified.
type Snapshot struct {
	Version   uint64
	Processes []Process
	Defs      []*Def // sorted by file and line
	defs      map[DefKey]*Def
	procs     map[ProcKey]int      // index in Processes
	byFile    map[string]fileIndex // the definitions and sites in each file
}

// fileIndex lists what a snapshot holds about one file, so that a request
// about a file costs what that file holds rather than what all do.
type fileIndex struct {
	defs  []*Def
	sites []SiteOf
}

// Def is everything reported about one cached function, summed over the
// processes that reported it.
type Def struct {
	Key           DefKey
	Name          string // the wrapped function
	Sig           string
	AllowMutation bool
	TTL           time.Duration
	MaxEntries    int
	Strict        bool

	Calls                // summed over its sites
	Counts               // its other counters
	Entries, Bytes int64 // held now by connected processes

	Sites       []Site // sorted by file and line
	HashErrs    []HashErr
	MutationLog []Mutation
	Tiers       []Tier     // stores behind memory (Persist's disk), by tier and location
	StoreErrs   []StoreErr // distinct errors of those stores, most frequent first
	Processes   []ProcKey  // the runs counted
	// Built holds, per source file of the definition and its call sites,
	// what the newest run counted saw of it when it started.
	Built map[string]Source

	sites     map[SiteKey]*Site // while the snapshot is built
	hashErrs  distinct[hashErrKey, HashErr]
	mutations distinct[mutationKey, Mutation]
	tiers     map[tierKey]*Tier
	storeErrs distinct[storeErrKey, StoreErr]
}

// Tier is a store behind a cached function's memory, its counters summed
// over the runs shown. Its hits are part of the function's hits.
type Tier struct {
	Name                                                  string // "disk"
	Location                                              string
	Basis                                                 string // what the code fingerprint of its entries covers
	Hits, Misses, Writes, WriteBytes, Errors, CodeChanged int64
}

// StoreErr is a distinct error of a store behind memory, with its count.
type StoreErr struct {
	Tier    string
	Message string
	Tally
}

// Site is what happened at one call site.
type Site struct {
	Key  SiteKey
	Func string
	Calls
	Reasons []Reason // most recent first

	reasons distinct[string, Reason] // while the snapshot is built
}

// Tally is how often something was reported and when it last was.
type Tally struct {
	Count int64
	Last  time.Time
}

func (t *Tally) tally() *Tally { return t }

// add counts o into t.
func (t *Tally) add(o *Tally) {
	t.Count += o.Count
	if o.Last.After(t.Last) {
		t.Last = o.Last
	}
}

// Reason is a miss reason with its count.
type Reason struct {
	Kind string // first, args, expired, evicted, mutated, cleared, error, panicked, other
	Arg  int
	Path string
	Text string
	Tally
	seq int64 // recency among the reasons of one site in one run
}

// HashErr is a distinct hash error with its count.
type HashErr struct {
	wire.HashErrDesc
	Site SiteKey
	Tally
}

// Mutation is a distinct mutation with its count.
type Mutation struct {
	Path   string
	Recv   SiteKey
	Detect SiteKey
	Tally
}

// Def returns the cached function defined at file:line, or nil.
func (s *Snapshot) Def(file string, line int) *Def {
	return s.defs[DefKey{file, line}]
}

// Process returns the run k, if the snapshot holds it.
func (s *Snapshot) Process(k ProcKey) (Process, bool) {
	i, ok := s.procs[k]
	if !ok {
		return Process{}, false
	}
	return s.Processes[i], true
}

// DefsIn returns the cached functions defined in file.
func (s *Snapshot) DefsIn(file string) []*Def {
	return s.byFile[file].defs
}

// SitesIn returns the call sites in file, with the function each calls.
func (s *Snapshot) SitesIn(file string) []SiteOf {
	return s.byFile[file].sites
}

// index builds the lookups of a finished snapshot.
func (s *Snapshot) index() {
	s.procs = make(map[ProcKey]int, len(s.Processes))
	for i, p := range s.Processes {
		s.procs[p.Key] = i
	}
	s.byFile = map[string]fileIndex{}
	for _, d := range s.Defs {
		fi := s.byFile[d.Key.File]
		fi.defs = append(fi.defs, d)
		s.byFile[d.Key.File] = fi
		for i := range d.Sites {
			f := d.Sites[i].Key.File
			fi := s.byFile[f]
			fi.sites = append(fi.sites, SiteOf{Def: d, Site: &d.Sites[i]})
			s.byFile[f] = fi
		}
	}
}

// SiteOf pairs a call site with its cached function.
type SiteOf struct {
	Def  *Def
	Site *Site
}

// HitRate is hits / (hits + misses).
func (d *Def) HitRate() float64 {
	if d.Hits+d.Misses == 0 {
		return 0
	}
	return float64(d.Hits) / float64(d.Hits+d.Misses)
}

// AvgCompute is the mean computation time.
func (d *Def) AvgCompute() time.Duration {
	if d.Computes == 0 {
		return 0
	}
	return time.Duration(d.ComputeNs / d.Computes)
}

// AvgHash is the mean time to hash arguments and check the result per call.
func (d *Def) AvgHash() time.Duration {
	if d.HashN == 0 {
		return 0
	}
	return time.Duration(d.HashNs / d.HashN)
}

// Saved estimates the time the cache saved: hits × average compute.
func (d *Def) Saved() time.Duration {
	return time.Duration(d.Hits) * d.AvgCompute()
}
