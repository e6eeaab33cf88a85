package cacheruntime

import (
	"sync"
	"weak"
)

// registry lists every cache the process made, for exporters (AllStats):
// weakly, so that a cache nobody calls any more can be collected.
var registry struct {
	mu     sync.Mutex
	caches []weak.Pointer[cache]
}

func register(c *cache) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	// Forget the collected ones now and then, so the list stays the size
	// of the live caches.
	if n := len(registry.caches); n >= 64 && n&(n-1) == 0 {
		live := registry.caches[:0]
		for _, w := range registry.caches {
			if w.Value() != nil {
				live = append(live, w)
			}
		}
		clear(registry.caches[len(live):])
		registry.caches = live
	}
	registry.caches = append(registry.caches, weak.Make(c))
}

// AllStats returns the statistics of every cache of the process (see
// Handle.Stats), in the order they were made — what metrics exporters
// (the OpenTelemetry and Prometheus modules of this repository) read on
// each collection. It costs a Handle.Stats per cache and nothing on the
// call path.
func AllStats() []Stats {
	registry.mu.Lock()
	caches := make([]*cache, 0, len(registry.caches))
	for _, w := range registry.caches {
		if c := w.Value(); c != nil {
			caches = append(caches, c)
		}
	}
	registry.mu.Unlock()
	out := make([]Stats, len(caches))
	for i, c := range caches {
		out[i] = c.stats()
	}
	return out
}
