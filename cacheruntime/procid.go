package cacheruntime

import _ "unsafe" // for go:linkname

// procID returns the id of the P (the scheduler's processor, one per
// GOMAXPROCS) the calling goroutine runs on, in [0, GOMAXPROCS). It is a
// hint: the goroutine may move to another P right after.
//
// The runtime keeps procPin and procUnpin reachable by go:linkname for
// the packages that use them (go.dev/issue/67401); this is the only place
// cacheruntime reaches into the runtime. A sync.Pool of stripe tokens, the
// way to get a per-P value without it, cost a Get and a Put on every hit
// — about 10 ns, a sixth of a hit with both cores busy.
func procID() int {
	id := procPin()
	procUnpin()
	return id
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
