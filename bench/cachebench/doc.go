// Package cachebench measures cacheruntime as a cache beside the caches Go
// programmers reach for — a hand-written memo (map behind an RWMutex),
// sync.Map, otter v2 and hashicorp/golang-lru v2 — each memoizing the same
// function (baseline.Compute, func(int, string) baseline.Small) on the
// same workloads: hits on one key and on a Zipf mix, from one goroutine and
// from every core; 90 % hits with fresh keys; misses; memory per entry. See
// docs/benchmarks.md ("cacheruntime against Go caches").
package cachebench
