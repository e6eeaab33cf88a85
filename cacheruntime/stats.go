package cacheruntime

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachelens/cachelens/internal/percent"
)

// Stats is a snapshot of one cached function's counters, taken by
// Handle.Stats. It answers what Streamlit users asked for and could not get:
// the hit ratio, latency and memory per function, and why calls missed.
type Stats struct {
	Name       string // the cache's name (the wrapped function by default)
	Package    string // the wrapped function's package path
	File       string // where the cache was created (the Func call)
	Line       int
	Hits       int64 // calls answered from the cache
	Misses     int64 // calls that computed (and, unless they failed, stored) a result
	Uncached   int64 // calls that ran without the cache because an argument could not be hashed
	HashErrors int64 // arguments that could not be hashed (one per uncached call)
	Mutations  int64 // hits that found their cached result changed by a caller
	Evictions  int64 // entries removed to stay within MaxEntries
	Expired    int64 // entries removed because their TTL passed
	Entries    int64 // entries held now
	Bytes      int64 // approximate memory held by the entries' results

	TotalCompute time.Duration // total time spent in the wrapped function on misses
	Computes     int64         // number of timed computations
	// ComputeBuckets counts computations by duration: ComputeBuckets[i]
	// those that took at most ComputeBounds[i], cumulatively (the last
	// counts all), as Prometheus histograms do.
	ComputeBuckets []int64
	AvgHash        time.Duration // average time to hash the arguments and check the result, per call

	Sites        []SiteStats      // per call site
	HashErrorLog []HashErrorCount // distinct hash errors, most frequent first
	MutationLog  []MutationCount  // distinct mutations, most frequent first

	// Tiers are the stores behind memory (Persist's disk): their hits are
	// part of Hits.
	Tiers         []TierStats
	StoreErrorLog []StoreErrorCount // distinct store errors, most frequent first
}

// ComputeBounds are the upper bounds of Stats.ComputeBuckets: 100 µs to
// 10 s, then all.
var ComputeBounds = [...]time.Duration{
	100 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second, 10 * time.Second, 1<<63 - 1,
}

// HitRate is hits / (hits + misses), or 0 before any call.
func (s Stats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// AvgCompute is the mean time of one computation.
func (s Stats) AvgCompute() time.Duration {
	if s.Computes == 0 {
		return 0
	}
	return s.TotalCompute / time.Duration(s.Computes)
}

// Saved estimates the compute time the cache saved: hits × average compute.
func (s Stats) Saved() time.Duration {
	return time.Duration(s.Hits) * s.AvgCompute()
}

// String formats the headline numbers the way the editor shows them.
func (s Stats) String() string {
	return fmt.Sprintf("%s: %d hits · %d misses (%s) · saved %s", s.Name, s.Hits, s.Misses, percent.Format(s.Hits, s.Hits+s.Misses, 0), s.Saved().Round(time.Millisecond))
}

// SiteStats is what happened at one call site.
type SiteStats struct {
	File     string
	Line     int
	Function string // the calling function
	Hits     int64
	Misses   int64
	Uncached int64
	Reasons  []ReasonCount // why calls here missed, most recent first
}

// ReasonCount is a miss reason and how often it occurred.
type ReasonCount struct {
	Reason MissReason
	Count  int64
}

// MissKind classifies why a call missed.
type MissKind uint8

// The kinds of misses.
const (
	MissFirst       MissKind = iota + 1 // the first call with these arguments
	MissArgs                            // the arguments differ from the previous call at this site
	MissExpired                         // the entry outlived its TTL
	MissEvicted                         // the entry was evicted by MaxEntries
	MissMutated                         // a caller mutated the cached result
	MissCleared                         // the entry was removed by Clear or Forget
	MissError                           // the previous call with these arguments returned an error
	MissPanicked                        // the previous call with these arguments panicked
	MissCodeChanged                     // Persist: the function's older code stored these arguments' result
)

var missKindNames = [...]string{"", "first call", "arguments changed", "expired", "evicted", "mutated", "cleared", "previous call failed", "previous call panicked", "code changed"}

func (k MissKind) String() string {
	if int(k) < len(missKindNames) {
		return missKindNames[k]
	}
	return "unknown"
}

// MissReason says why one call missed.
type MissReason struct {
	Kind MissKind
	Arg  int    // for MissArgs: the 1-based argument that changed
	Path string // for MissArgs: the field or element inside it, or for MissMutated the changed part
}

func (r MissReason) String() string {
	switch r.Kind {
	case MissArgs:
		if r.Arg == 0 {
			return "arguments changed since the previous call here"
		}
		if r.Path != "" {
			return fmt.Sprintf("arg %d %s changed since the previous call here", r.Arg, r.Path)
		}
		return fmt.Sprintf("arg %d changed since the previous call here", r.Arg)
	case MissMutated:
		if r.Path != "" {
			return "cached result was mutated at " + r.Path
		}
		return "cached result was mutated"
	case MissFirst:
		return "first call with these arguments"
	}
	return r.Kind.String()
}

// HashError describes an argument that could not be hashed. The call that
// met it ran uncached; in strict mode it is the panic value.
type HashError struct {
	Func    string // the cache's name
	Arg     int    // 1-based argument index
	ArgType string // the argument's type
	Path    string // where inside the argument, like ".Send" or "[2].Conn"
	Type    string // the type that could not be hashed
	Panic   string // when a HashFunc panicked: what it panicked with
	Suggest string // the type a HashFunc should cover to fix it
	// Internal is set instead of the fields above when the call ran
	// uncached, or without a miss reason, because of a fault inside
	// cacheruntime itself: what failed and how.
	Internal string
}

// Error reads like "loadUser: arg 1 (main.Notifier).Send: func(string)
// error cannot be hashed; add cacheruntime.HashFunc(func(main.Notifier) any
// { ... })".
func (e *HashError) Error() string {
	var b strings.Builder
	if e.Func != "" {
		b.WriteString(e.Func)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail())
	if e.Suggest != "" {
		fmt.Fprintf(&b, "; add cacheruntime.HashFunc(func(%s) any { ... })", e.Suggest)
	}
	return b.String()
}

// Detail is the message without the function name and the suggested fix,
// like "arg 1 (main.Notifier).Send: func(string) error cannot be hashed".
func (e *HashError) Detail() string {
	what := e.Type + " cannot be hashed"
	switch {
	case e.Internal != "":
		return "internal error in cacheruntime: " + e.Internal
	case e.Panic != "":
		what = fmt.Sprintf("HashFunc for %s panicked: %s", e.Type, e.Panic)
	case e.Type == "":
		what = "value graph too large to hash"
	}
	if e.Arg == 0 {
		if e.ArgType == "" {
			return what
		}
		return fmt.Sprintf("(%s)%s: %s", e.ArgType, e.Path, what)
	}
	return fmt.Sprintf("arg %d (%s)%s: %s", e.Arg, e.ArgType, e.Path, what)
}

// HashErrorCount is a distinct hash error and how often it occurred.
type HashErrorCount struct {
	Err   HashError
	Count int64
	Site  SiteRef // where the last occurrence was called from
}

// SiteRef names a call site.
type SiteRef struct {
	File     string
	Line     int
	Function string
}

// MutationCount is a distinct mutation of a cached result.
type MutationCount struct {
	Path     string  // the changed part of the result, like "[3].Price"; empty if unknown
	Received SiteRef // the call site that last received the value before it changed
	Detected SiteRef // the call site whose hit found the change
	Count    int64
}
