package cacheruntime

// ForceCollisions makes every key's primary hash equal.
func ForceCollisions() Option {
	return Option{func(c *config) { c.keyMask = 1 << 63 }}
}

// InjectFault makes the cache panic inside one step of its own work (see
// faults.go for the steps).
func InjectFault(step string) Option {
	return Option{func(c *config) { c.fault = step }}
}

// FaultSteps lists the steps InjectFault accepts.
var FaultSteps = []string{faultKey, faultFingerprint, faultExplain, faultSize, faultTree, faultDescribe}

// InjectReporterFault makes every reporting cycle of r panic.
func InjectReporterFault(r *Reporter) { r.fault = true }

// HoldSiteLock takes the lock under which h's cache classifies program
// counters it has not seen, and returns its release.
func HoldSiteLock(h *Handle) (release func()) {
	c := h.c.Load()
	c.sites.classMu.Lock()
	return c.sites.classMu.Unlock
}
