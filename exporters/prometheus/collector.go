// Package promexport exports cacheruntime's statistics to Prometheus: a
// prometheus.Collector over every cache of the process (cacheruntime.AllStats),
// read on each scrape, so that the call path does not change. It is a
// module of its own so that programs that use cacheruntime without it
// never download the Prometheus client.
//
//	prometheus.MustRegister(promexport.New(promexport.Options{}))
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics (documented with their labels in docs/metrics.md):
//
//	cachelens_cache_calls_total{result="hit|miss|uncached", tier="memory|disk|redis|"}
//	cachelens_cache_misses_total{reason="first|args|expired|evicted|mutated|cleared|error|panicked|codechanged|other"}
//	cachelens_cache_hash_errors_total, cachelens_cache_mutations_total,
//	cachelens_cache_evictions_total, cachelens_cache_expirations_total,
//	cachelens_cache_store_errors_total
//	cachelens_cache_entries, cachelens_cache_memory_bytes
//	cachelens_cache_compute_duration_seconds (a histogram)
//	cachelens_cache_site_calls_total{site_file, site_line, result} (Options.Sites > 0)
//	cachelens_build_info{module, version, revision, go_version} = 1
//
// Every cache series carries what maps it back to its source: module,
// package, cache (its name), binding (its variable, where the source can
// be read), file (module-relative where it can be found) and line of its
// Func call, and revision (the build's VCS revision, else its module
// version).
package promexport

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/cachelens/cachelens/internal/cachemetrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Options tune the collector.
type Options struct {
	// Sites exports each cache's N busiest call sites (by calls) as
	// cachelens_cache_site_calls_total; 0 exports none. The series are
	// bounded by caches × N × 3 results.
	Sites int
}

// Collector is a prometheus.Collector of every cacheruntime cache.
type Collector struct {
	opts  Options
	build cachemetrics.Build

	calls, misses, hashErrs, muts, evictions, expirations, storeErrs *prometheus.Desc
	entries, bytes, compute, sites, info                             *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a collector of the process's caches.
func New(opts Options) *Collector {
	c := &Collector{opts: opts, build: cachemetrics.ReadBuild()}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(slices.Clone(cachemetrics.LabelNames), extra...), nil)
	}
	c.calls = d("cachelens_cache_calls_total", "Calls of a cached function by result (hit, miss, uncached) and, for hits, the tier that answered (memory, disk, redis).", "result", "tier")
	c.misses = d("cachelens_cache_misses_total", "Misses of a cached function by reason.", "reason")
	c.hashErrs = d("cachelens_cache_hash_errors_total", "Calls whose arguments could not be hashed (they ran uncached).")
	c.muts = d("cachelens_cache_mutations_total", "Hits that found their cached result changed by a caller.")
	c.evictions = d("cachelens_cache_evictions_total", "Entries evicted to stay within MaxEntries.")
	c.expirations = d("cachelens_cache_expirations_total", "Entries removed because their TTL passed.")
	c.storeErrs = d("cachelens_cache_store_errors_total", "Errors of the stores behind memory (disk, Redis) by tier.", "tier")
	c.entries = d("cachelens_cache_entries", "Entries held in memory.")
	c.bytes = d("cachelens_cache_memory_bytes", "Approximate bytes the entries' results hold in memory.")
	c.compute = d("cachelens_cache_compute_duration_seconds", "Time spent computing on misses.")
	c.sites = d("cachelens_cache_site_calls_total", "Calls at a call site (the busiest Options.Sites per cache) by result.", "site_file", "site_line", "result")
	c.info = prometheus.NewDesc("cachelens_build_info", "The build the caches' series come from.", []string{"module", "version", "revision", "go_version"}, nil)
	return c
}

// Describe sends the metrics' descriptions.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.misses, c.hashErrs, c.muts, c.evictions, c.expirations, c.storeErrs, c.entries, c.bytes, c.compute, c.sites, c.info} {
		ch <- d
	}
}

// Collect reads every cache's statistics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	b := c.build
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, b.Module, b.Version, b.Revision, runtime.Version())
	for _, m := range cachemetrics.Read(b, c.opts.Sites) {
		lv := m.Labels
		counter := func(d *prometheus.Desc, v int64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(slices.Clone(lv), extra...)...)
		}
		for _, x := range m.Calls {
			counter(c.calls, x.N, x.Result, x.Tier)
		}
		for reason, n := range m.Misses {
			counter(c.misses, n, reason)
		}
		counter(c.hashErrs, m.HashErrors)
		counter(c.muts, m.Mutations)
		counter(c.evictions, m.Evictions)
		counter(c.expirations, m.Expirations)
		for tier, n := range m.StoreErrors {
			counter(c.storeErrs, n, tier)
		}
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(m.Entries), lv...)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(m.Bytes), lv...)
		buckets := make(map[float64]uint64, len(m.Bounds))
		for i, bound := range m.Bounds {
			buckets[bound] = m.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(c.compute, uint64(m.Computes), m.ComputeSum, buckets, lv...)
		for _, site := range m.Sites {
			counter(c.sites, site.Hits, site.File, site.Line, "hit")
			counter(c.sites, site.Misses, site.File, site.Line, "miss")
			counter(c.sites, site.Uncached, site.File, site.Line, "uncached")
		}
	}
}

// String describes the collector, for logs.
func (c *Collector) String() string {
	return fmt.Sprintf("cachelens collector (module %s, revision %s)", c.build.Module, c.build.Rev())
}
