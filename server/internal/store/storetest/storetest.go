// Package storetest builds runs — the wire.Run values the collector reads
// from run files — for tests of the store and of what reads it.
//
// It serves this repository's tests and benchmarks only.
package storetest

import (
	"crypto/sha256"
	"time"

	"github.com/cachelens/cachelens/wire"
)

// Run is a run under construction.
type Run struct {
	R    *wire.Run
	next uint32
}

// New starts a run of the executable exe (main package path "main") by
// process pid started at start.
func New(pid int, start time.Time, exe string) *Run {
	var id [16]byte
	id[0], id[1], id[2] = byte(pid), byte(pid>>8), byte(start.UnixNano())
	return &Run{R: &wire.Run{PID: pid, Start: start, ID: id, Program: &wire.RunProgram{Exe: exe, Path: "main", Module: "example.com/m"},
		Defs: map[uint32]*wire.RunDef{}, Sites: map[uint32]*wire.RunSite{}}}
}

// Def adds a cached function defined at file:line and returns its id.
func (r *Run) Def(file string, line int, name, sig string) uint32 {
	r.next++
	r.R.Defs[r.next] = &wire.RunDef{ID: r.next, File: file, Line: line, Name: name, Sig: sig}
	return r.next
}

// Counter sets counter ctr (a wire.Ctr constant) of def.
func (r *Run) Counter(def uint32, ctr int, v int64) *Run {
	r.R.Defs[def].Counters[ctr] = v
	return r
}

// Site adds a call site of def with its counts and returns its id.
func (r *Run) Site(def uint32, file string, line int, fn string, hits, misses, uncached int64) uint32 {
	r.next++
	r.R.Sites[r.next] = &wire.RunSite{ID: r.next, Def: def, File: file, Line: line, Func: fn, Hits: hits, Misses: misses, Uncached: uncached}
	return r.next
}

// Reason adds a distinct miss reason at site.
func (r *Run) Reason(site uint32, kind, text string, count int64) *Run {
	r.R.Reasons = append(r.R.Reasons, wire.RunReason{Site: site, Kind: kind, Text: text, Count: count, Seq: int64(len(r.R.Reasons) + 1)})
	return r
}

// HashErr adds a distinct hash error.
func (r *Run) HashErr(e wire.RunHashErr) *Run {
	r.R.HashErrs = append(r.R.HashErrs, e)
	return r
}

// Mutation adds a distinct mutation of def's result.
func (r *Run) Mutation(def, recv, detect uint32, path string, count int64) *Run {
	r.R.Muts = append(r.R.Muts, wire.RunMutation{Def: def, Recv: recv, Detect: detect, Path: path, Count: count})
	return r
}

// Tier adds def's store behind memory (a wire.TierNames entry) at loc
// with its counters (indexed by the wire.Tier... constants).
func (r *Run) Tier(def uint32, tier, loc string, counters [wire.TierNCounter]int64) *Run {
	r.R.Tiers = append(r.R.Tiers, wire.RunTier{Def: def, Tier: tier, Location: loc, Basis: "the source of main.go", Counters: counters})
	return r
}

// StoreErr adds a distinct error of def's store.
func (r *Run) StoreErr(def uint32, tier, msg string, count int64) *Run {
	r.R.StoreErrs = append(r.R.StoreErrs, wire.RunStoreErr{Def: def, Tier: tier, Message: msg, Count: count})
	return r
}

// Source records that the program saw path with this content when it
// started; verified: it was built from it.
func (r *Run) Source(path string, content []byte, verified bool) *Run {
	r.R.Sources = append(r.R.Sources, wire.RunSource{Path: path, Hash: sha256.Sum256(content), Size: int64(len(content)), Verified: verified})
	return r
}
