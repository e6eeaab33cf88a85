// Package cacheruntime memoizes Go functions — st.cache for Go programs —
// and reports what each cache does to the cachelens language server, which
// shows it beside the code.
//
// It is for programs that cache expensive functions (loading data, queries,
// computations). It imports only the standard library.
//
//	var loadCatalog = cacheruntime.Func1(loadCatalogUncached)
//
// [Func] wraps a function of any signature; the typed variants ([Func1],
// [Func2E], ...) do the same without reflection. Options refine a cache:
// [HashFunc] teaches it how to hash a type, [AllowOutputMutation] turns off
// the check for callers that change cached results, [TTL] and [MaxEntries]
// bound it, [WithHandle] gives the program its statistics ([Handle.Stats])
// and a way to clear it. [Clone] deep-copies a result before changing it,
// and [Hash] exposes the key hash.
//
// # What a key contains
//
// A call's key is a 128-bit hash (two independent 64-bit lanes) of its
// arguments, computed structurally by these rules, which [Hash] also
// follows:
//
//   - Every argument counts except those whose type is context.Context (or
//     an interface type with its methods). A value that merely implements
//     context.Context, such as a struct embedding one, is data: its fields
//     count, except fields of type context.Context.
//   - Values compare as trees. Pointers are followed (nil differs from a
//     pointer to a zero value); slices by length and elements (nil differs
//     from empty; the capacity does not count); strings by content; arrays
//     and structs element by element and field by field, unexported fields
//     included and blank (_) fields excluded; maps as sets of entries,
//     whatever the iteration order (nil differs from empty); interfaces by
//     dynamic type and value (a nil interface differs from a typed nil; int
//     differs from int64).
//   - Floats compare by value, unlike Go's ==: -0 equals +0 and every NaN
//     equals every NaN. Complex numbers compare part by part the same way.
//   - How acyclic parts are shared does not matter: a value equals a copy in
//     which shared objects are duplicated. A value with cycles equals another
//     when both unfold alike, with each reference back to an object on the
//     current path pointing the same number of objects up.
//   - func, chan and unsafe.Pointer values cannot be hashed. A call whose
//     arguments hold one (at any depth, unless a HashFunc covers it) runs
//     uncached and records a [HashError] naming the argument, the path
//     inside it and the HashFunc that would fix it; it never fails the call.
//     [Strict] (or CACHELENS_STRICT=1) makes it panic instead, for tests.
//   - A HashFunc for type T applies wherever a value of type T appears: as
//     an argument, a field, an element, behind pointers, as a map key or
//     value, or as the dynamic value of an interface. The value is replaced
//     by what the HashFunc returns, hashed by these rules; returning nil or
//     a constant ignores T. It runs once per occurrence per call — on a hit
//     and on a miss alike — and never on results. Inside its own result, T
//     is hashed as itself, so a HashFunc may return a value holding a T. A
//     HashFunc that panics makes the call run uncached, with a HashError
//     carrying the panic.
//
// Hashing walks values with an explicit stack: depth costs heap, not
// goroutine stack, so a linked list of millions of nodes hashes in time
// linear in its size. A value whose objects on cycles are shared so densely
// that re-walking them would exceed a budget is hashed by numbering objects
// in visit order instead; equal values may then hash differently, which
// costs a miss, never a wrong hit.
//
// Keys are the same in every process, build and machine of one byte order
// and word size (all 64-bit little-endian platforms agree): no part of a key
// is seeded or depends on addresses. A type's identity is its package path
// and name (or its structure, if unnamed), so renaming or moving a type
// changes its keys; byte runs longer than 64 bytes are hashed with XXH3-128,
// shorter ones word by word, and a []float64 that holds no -0 and no
// unusual NaN as raw memory. The rules may change between versions of
// cacheruntime; KeyVersion names them, and changes whenever a key does.
// On big-endian or 32-bit platforms keys differ from these (memory is
// hashed in the machine's own layout).
//
// # Results
//
// A call whose last result is a non-nil error is not cached, nor is a call
// that panics (the panic propagates unchanged). Concurrent calls with equal
// arguments compute once. Results are fingerprinted when stored and checked
// on every hit (floats bit for bit, strings by identity, funcs and chans by
// identity; a value of a type a HashFunc covers by its own memory): a
// caller that changed a cached result makes the entry recompute, and the
// mutation is recorded with the path of the changed part. Results that
// cannot change through a copy (structs of plain values) are not checked.
//
// # Persistence
//
// With [Persist], results also go to disk and outlive the process: a call
// that misses in memory reads the disk before computing, and the editor
// tells disk hits from memory hits. Entries are keyed by the key above
// under the function's package, what its cache is bound to, and a
// fingerprint of its code, so that editing the function makes them misses
// (see [Persist] for what the fingerprint covers and what it does not).
// `cachelens cache` lists and clears them.
//
// # Failure
//
// Nothing a value contains can make a call hang, crash the process, or
// return another call's result. A fault inside cacheruntime's own work on
// the call path (hashing, explaining a miss, fingerprinting, sizing) is
// recorded as an internal [HashError] and the call runs uncached; the
// in-flight entry is always released.
//
// # Reporting
//
// By default every cache reports to the cachelens language servers whose
// workspace holds the program's source, over a local Unix socket, from a
// goroutine of its own: a call never waits for reporting. CACHELENS=off
// turns reporting off; CACHELENS_SOCKET names the socket. See
// docs/wire.md in the repository.
package cacheruntime
