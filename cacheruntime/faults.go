package cacheruntime

import "unsafe"

// Fault injection for tests: a cache configured with a fault step panics
// inside that step of its own bookkeeping, so tests can check that no
// internal failure leaves an in-flight entry behind or escapes to the
// caller. The option that sets it is defined in export_test.go; programs
// cannot set it.

// The steps of a call that can be made to fail.
const (
	faultKey         = "key"         // hashing the arguments
	faultFingerprint = "fingerprint" // fingerprinting a result (storing and on a hit)
	faultExplain     = "explain"     // recording a miss's arguments and reason
	faultSize        = "size"        // sizing a result
	faultTree        = "tree"        // a result's detail tree
	faultDescribe    = "describe"    // describing a hash error
)

// injectedFault is what an injected fault panics with.
type injectedFault string

// inject panics if the cache was configured to fail at step.
func (c *cache) inject(step string) {
	if c.cfg.fault == step {
		panic(injectedFault("injected fault: " + step))
	}
}

// injectFaults wraps the compiled key and fingerprint functions when the
// configured fault is one of theirs.
func (c *cache) injectFaults() {
	switch c.cfg.fault {
	case faultKey:
		kc := *c.keyC
		kc.fn = func(h *hstate, p unsafe.Pointer) { panic(injectedFault("injected fault: key")) }
		c.keyC = &kc
	case faultFingerprint:
		rc := *c.resC
		rc.fn = func(h *hstate, p unsafe.Pointer) { panic(injectedFault("injected fault: fingerprint")) }
		c.resC = &rc
	}
}
