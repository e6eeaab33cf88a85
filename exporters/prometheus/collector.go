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
//	cachelens_cache_entries, cachelens_cache_bytes
//	cachelens_cache_compute_duration_seconds (a histogram)
//	cachelens_cache_site_calls_total{site_file, site_line, result} (Options.Sites > 0)
//	cachelens_build_info{module, version, revision, go_version} = 1
//
// Every cache series carries what maps it back to its source: module,
// package, cache (its name), file (module-relative where it can be
// found) and line of its Func call, and revision (the build's VCS
// revision, else its module version).
package promexport

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/cachelens/cachelens/cacheruntime"
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
	build buildInfo

	calls, misses, hashErrs, muts, evictions, expirations, storeErrs *prometheus.Desc
	entries, bytes, compute, sites, info                             *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// cacheLabels map a series back to its source.
var cacheLabels = []string{"module", "package", "cache", "file", "line", "revision"}

// New returns a collector of the process's caches.
func New(opts Options) *Collector {
	c := &Collector{opts: opts, build: readBuild()}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(slices.Clone(cacheLabels), extra...), nil)
	}
	c.calls = d("cachelens_cache_calls_total", "Calls of a cached function by result (hit, miss, uncached) and, for hits, the tier that answered (memory, disk, redis).", "result", "tier")
	c.misses = d("cachelens_cache_misses_total", "Misses of a cached function by reason.", "reason")
	c.hashErrs = d("cachelens_cache_hash_errors_total", "Calls whose arguments could not be hashed (they ran uncached).")
	c.muts = d("cachelens_cache_mutations_total", "Hits that found their cached result changed by a caller.")
	c.evictions = d("cachelens_cache_evictions_total", "Entries evicted to stay within MaxEntries.")
	c.expirations = d("cachelens_cache_expirations_total", "Entries removed because their TTL passed.")
	c.storeErrs = d("cachelens_cache_store_errors_total", "Errors of the stores behind memory (disk, Redis) by tier.", "tier")
	c.entries = d("cachelens_cache_entries", "Entries held in memory.")
	c.bytes = d("cachelens_cache_bytes", "Approximate bytes the entries' results hold in memory.")
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
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, b.module, b.version, b.revision, runtime.Version())
	for _, s := range cacheruntime.AllStats() {
		lv := []string{b.module, s.Package, s.Name, b.relative(s.File), strconv.Itoa(s.Line), b.rev()}
		counter := func(d *prometheus.Desc, v int64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(slices.Clone(lv), extra...)...)
		}
		gauge := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), lv...)
		}
		memory := s.Hits
		for _, t := range s.Tiers {
			counter(c.calls, t.Hits, "hit", t.Tier)
			memory -= t.Hits
		}
		counter(c.calls, memory, "hit", "memory")
		counter(c.calls, s.Misses, "miss", "")
		counter(c.calls, s.Uncached, "uncached", "")
		reasons := map[string]int64{}
		var explained int64
		for _, site := range s.Sites {
			for _, r := range site.Reasons {
				reasons[reasonLabel(r.Reason.Kind)] += r.Count
				explained += r.Count
			}
		}
		if other := s.Misses - explained; other > 0 {
			reasons["other"] += other
		}
		for k, v := range reasons {
			counter(c.misses, v, k)
		}
		counter(c.hashErrs, s.HashErrors)
		counter(c.muts, s.Mutations)
		counter(c.evictions, s.Evictions)
		counter(c.expirations, s.Expired)
		storeErrs := map[string]int64{}
		for _, e := range s.StoreErrorLog {
			storeErrs[e.Tier] += e.Count
		}
		for tier, n := range storeErrs {
			counter(c.storeErrs, n, tier)
		}
		gauge(c.entries, s.Entries)
		gauge(c.bytes, s.Bytes)
		buckets := map[float64]uint64{}
		for i, bound := range cacheruntime.ComputeBounds[:len(cacheruntime.ComputeBounds)-1] {
			buckets[bound.Seconds()] = uint64(s.ComputeBuckets[i])
		}
		ch <- prometheus.MustNewConstHistogram(c.compute, uint64(s.Computes), s.TotalCompute.Seconds(), buckets, lv...)
		if c.opts.Sites > 0 {
			sites := slices.Clone(s.Sites)
			slices.SortStableFunc(sites, func(a, b cacheruntime.SiteStats) int {
				return cmp.Compare(b.Hits+b.Misses+b.Uncached, a.Hits+a.Misses+a.Uncached)
			})
			for _, site := range sites[:min(len(sites), c.opts.Sites)] {
				f, l := b.relative(site.File), strconv.Itoa(site.Line)
				counter(c.sites, site.Hits, f, l, "hit")
				counter(c.sites, site.Misses, f, l, "miss")
				counter(c.sites, site.Uncached, f, l, "uncached")
			}
		}
	}
}

func reasonLabel(k cacheruntime.MissKind) string {
	switch k {
	case cacheruntime.MissFirst:
		return "first"
	case cacheruntime.MissArgs:
		return "args"
	case cacheruntime.MissExpired:
		return "expired"
	case cacheruntime.MissEvicted:
		return "evicted"
	case cacheruntime.MissMutated:
		return "mutated"
	case cacheruntime.MissCleared:
		return "cleared"
	case cacheruntime.MissError:
		return "error"
	case cacheruntime.MissPanicked:
		return "panicked"
	case cacheruntime.MissCodeChanged:
		return "codechanged"
	}
	return "other"
}

// buildInfo is what the binary says of its build.
type buildInfo struct {
	module, version, revision string
	trimpath                  bool
	root                      string // the module's directory at build time, if found
}

func (b buildInfo) rev() string {
	if b.revision != "" {
		return b.revision
	}
	return b.version
}

func readBuild() buildInfo {
	var b buildInfo
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.module, b.version = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "-trimpath":
			b.trimpath = s.Value == "true"
		}
	}
	if !b.trimpath {
		if wd, err := os.Getwd(); err == nil {
			b.root = findModule(wd, b.module)
		}
	}
	return b
}

// findModule looks for the directory of module mod at or above dir.
func findModule(dir, mod string) string {
	for d := dir; ; {
		if m, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(m), "module "+mod) {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// relative returns file relative to the main module when it is in it:
// from a -trimpath build's module path, from the module's directory where
// it is found, else from the last occurrence of the module path's last
// element in the path. Other files stay as they are.
func (b buildInfo) relative(file string) string {
	file = filepath.ToSlash(file)
	if b.module == "" {
		return file
	}
	if rest, ok := strings.CutPrefix(file, b.module+"/"); ok {
		return rest
	}
	if b.root != "" {
		if rest, ok := strings.CutPrefix(file, filepath.ToSlash(b.root)+"/"); ok {
			return rest
		}
	}
	last := "/" + b.module[strings.LastIndex(b.module, "/")+1:] + "/"
	if i := strings.LastIndex(file, last); i >= 0 {
		return file[i+len(last):]
	}
	return file
}

// String describes the collector, for logs.
func (c *Collector) String() string {
	return fmt.Sprintf("cachelens collector (module %s, revision %s)", c.build.module, c.build.rev())
}
