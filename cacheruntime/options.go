package cacheruntime

import (
	"reflect"
	"time"
	"unsafe"
)

// An Option configures one cached function. Options are passed to Func and
// its typed variants.
type Option struct {
	apply func(*config)
}

type config struct {
	user          map[reflect.Type]userHash
	allowMutation bool
	ttl           time.Duration
	maxEntries    int
	strict        bool
	handle        *Handle
	reporter      *Reporter
	noReport      bool
	name          string
	keyMask       uint64 // testing: mask applied to the primary key hash

	// Persist and its refinements: newDisk makes the disk tier (set only
	// by them, so that a program that never persists links none of it).
	newDisk       func(c *cache, fn reflect.Value) tier
	codecDisk     func(c *cache, fn reflect.Value) tier // WithCodec's disk tier, used when no other option chose the tiers
	stores        []Store
	persistDir    string
	persistMax    int64
	persistMaxSet bool
	codec         Codec
	fault         string // testing: a step that panics (faults.go)
}

// HashFunc makes values of type T hash as what h returns, wherever a T
// appears inside an argument (at any depth, behind pointers, in slices,
// maps and interfaces). Returning nil or any constant ignores T, like
// Streamlit's hash_funcs={T: lambda _: None}. Use it for types that cannot
// be hashed (a *sql.DB, a struct holding a callback) or that should be
// compared by identity or by an ID. A panic inside h is recorded as a hash
// error and the call runs uncached. HashFunc also applies to results when
// they are checked for mutation.
func HashFunc[T any](h func(T) any) Option {
	t := reflect.TypeFor[T]()
	u := userHash{t: t, fn: func(p unsafe.Pointer) any { return h(*(*T)(p)) }}
	return Option{func(c *config) {
		if c.user == nil {
			c.user = map[reflect.Type]userHash{}
		}
		c.user[t] = u
	}}
}

// AllowOutputMutation turns off the mutation check for this function's
// results: hits return the stored value itself without re-hashing it, and
// changes callers make to it persist in the cache (Streamlit's
// allow_output_mutation=True). Use it for results that are meant to be
// shared and changed, such as connection pools, or when a result is too
// large to re-hash on every hit.
func AllowOutputMutation() Option {
	return Option{func(c *config) { c.allowMutation = true }}
}

// TTL makes entries expire d after they were computed. A call for an
// expired entry misses with the reason "expired". d <= 0 means no expiry.
func TTL(d time.Duration) Option {
	return Option{func(c *config) { c.ttl = d }}
}

// MaxEntries bounds the number of entries; when a new entry would exceed
// it, the least recently used entry is evicted. n <= 0 means unbounded.
//
// The order of uses is exact while calls come one at a time. Once calls on
// several cores hit at the same moment, the cache stops ordering each hit
// (that took one shared write per hit, which does not scale) and orders
// uses by the insertions they followed: the entry evicted is one not used
// since the oldest such insertion.
func MaxEntries(n int) Option {
	return Option{func(c *config) { c.maxEntries = n }}
}

// Strict makes a hash error panic instead of running the call uncached.
// The panic value is a *HashError whose message names the argument, type
// and path and suggests the HashFunc that fixes it. Setting the environment
// variable CACHELENS_STRICT=1 turns strict mode on for every cache, which
// suits test runs.
func Strict() Option {
	return Option{func(c *config) { c.strict = true }}
}

// WithHandle binds h to the cache, so the program can read the cache's
// statistics and clear it: h.Stats(), h.Clear(), h.Forget(args...).
func WithHandle(h *Handle) Option {
	return Option{func(c *config) { c.handle = h }}
}

// Name sets the name the cache is shown under (in statistics, errors and
// the editor). By default it is the wrapped function's name.
func Name(name string) Option {
	return Option{func(c *config) { c.name = name }}
}

// WithReporter sends this cache's events to r instead of the process-wide
// reporter. Tests use it to report to a private socket.
func WithReporter(r *Reporter) Option {
	return Option{func(c *config) { c.reporter = r }}
}

// NoReport keeps this cache's events in process: nothing is sent to a
// language server. Statistics through a Handle still work.
func NoReport() Option {
	return Option{func(c *config) { c.noReport = true }}
}
