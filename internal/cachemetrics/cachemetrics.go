// Package cachemetrics turns cacheruntime's statistics into the values and
// labels of cachelens's production metrics — one implementation for the
// Prometheus collector (exporters/prometheus) and the OpenTelemetry
// adapter (exporters/otel), documented in docs/metrics.md.
package cachemetrics

import (
	"cmp"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/binding"
	"github.com/cachelens/cachelens/internal/modroot"
)

// LabelNames are the labels that map a cache's series back to its source,
// in the order Cache.Labels holds their values.
var LabelNames = []string{"module", "package", "cache", "binding", "file", "line", "revision"}

// Cache is one cache's metric values.
type Cache struct {
	Labels      []string // values of LabelNames
	Calls       []Calls
	Misses      map[string]int64 // by reason
	HashErrors  int64
	Mutations   int64
	Evictions   int64
	Expirations int64
	StoreErrors map[string]int64 // by tier
	Entries     int64
	Bytes       int64
	Computes    int64
	ComputeSum  float64   // seconds
	Bounds      []float64 // bucket upper bounds in seconds (without +Inf)
	Buckets     []uint64  // cumulative counts per bound
	Sites       []Site    // the busiest, when asked for
}

// Calls counts calls of one result ("hit", "miss", "uncached") and, for
// hits, the tier that answered ("memory", "disk", "redis").
type Calls struct {
	Result, Tier string
	N            int64
}

// Site is a call site's counts.
type Site struct {
	File, Line             string
	Hits, Misses, Uncached int64
}

// Build is what the binary says of its build.
type Build struct {
	Module, Version, Revision string
	trimpath                  bool
	root                      string // the module's directory at build time, if found
}

// ReadBuild reads the running binary's build information.
func ReadBuild() Build {
	var b Build
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "-trimpath":
			b.trimpath = s.Value == "true"
		}
	}
	if !b.trimpath {
		if wd, err := os.Getwd(); err == nil {
			b.root = modroot.Of(wd, b.Module)
		}
	}
	return b
}

// Rev is the build's VCS revision, else its module version.
func (b Build) Rev() string {
	if b.Revision != "" {
		return b.Revision
	}
	return b.Version
}

// Relative returns file relative to the main module when it is in it:
// from a -trimpath build's module path, from the module's directory where
// it is found, else from the last occurrence of the module path's last
// element in the path. Other files stay as they are.
func (b Build) Relative(file string) string {
	file = filepath.ToSlash(file)
	if b.Module == "" {
		return file
	}
	if rest, ok := strings.CutPrefix(file, b.Module+"/"); ok {
		return rest
	}
	if b.root != "" {
		if rest, ok := strings.CutPrefix(file, filepath.ToSlash(b.root)+"/"); ok {
			return rest
		}
	}
	last := "/" + b.Module[strings.LastIndex(b.Module, "/")+1:] + "/"
	if i := strings.LastIndex(file, last); i >= 0 {
		return file[i+len(last):]
	}
	return file
}

// Reason names a miss kind as the metrics label it.
func Reason(k cacheruntime.MissKind) string {
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

// bindings remember what each cache is bound to: its source is parsed once.
var bindings sync.Map // "file:line" → string

// bindingOf is what the cache defined at file:line is bound to (its
// variable), where the source can be read ("" in a deployment without it).
func bindingOf(file string, line int) string {
	k := file + ":" + strconv.Itoa(line)
	if v, ok := bindings.Load(k); ok {
		return v.(string)
	}
	v := binding.Of(file, line)
	bindings.Store(k, v)
	return v
}

// Read returns the metric values of every cache of the process, with each
// cache's `sites` busiest call sites (0: none). Caches with the same
// labels — the same Func call made again (a cache built per call, a test
// that builds its cache twice) — are summed into one: a metrics system
// refuses two series with the same labels.
func Read(b Build, sites int) []Cache {
	var out []Cache
	at := map[string]int{}
	for _, c := range read(b, sites) {
		k := strings.Join(c.Labels, "\xff")
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, c)
			continue
		}
		out[i].add(c)
	}
	return out
}

// add sums o into c (the same labels).
func (c *Cache) add(o Cache) {
	for _, x := range o.Calls {
		j := slices.IndexFunc(c.Calls, func(y Calls) bool { return y.Result == x.Result && y.Tier == x.Tier })
		if j < 0 {
			c.Calls = append(c.Calls, x)
		} else {
			c.Calls[j].N += x.N
		}
	}
	for k, v := range o.Misses {
		c.Misses[k] += v
	}
	for k, v := range o.StoreErrors {
		c.StoreErrors[k] += v
	}
	c.HashErrors += o.HashErrors
	c.Mutations += o.Mutations
	c.Evictions += o.Evictions
	c.Expirations += o.Expirations
	c.Entries += o.Entries
	c.Bytes += o.Bytes
	c.Computes += o.Computes
	c.ComputeSum += o.ComputeSum
	for i := range c.Buckets {
		c.Buckets[i] += o.Buckets[i]
	}
	for _, s := range o.Sites {
		j := slices.IndexFunc(c.Sites, func(x Site) bool { return x.File == s.File && x.Line == s.Line })
		if j < 0 {
			c.Sites = append(c.Sites, s)
		} else {
			c.Sites[j].Hits += s.Hits
			c.Sites[j].Misses += s.Misses
			c.Sites[j].Uncached += s.Uncached
		}
	}
}

func read(b Build, sites int) []Cache {
	all := cacheruntime.AllStats()
	out := make([]Cache, 0, len(all))
	bounds := make([]float64, len(cacheruntime.ComputeBounds)-1)
	for i := range bounds {
		bounds[i] = cacheruntime.ComputeBounds[i].Seconds()
	}
	for _, s := range all {
		c := Cache{
			Labels:     []string{b.Module, s.Package, s.Name, bindingOf(s.File, s.Line), b.Relative(s.File), strconv.Itoa(s.Line), b.Rev()},
			Misses:     map[string]int64{},
			HashErrors: s.HashErrors, Mutations: s.Mutations, Evictions: s.Evictions, Expirations: s.Expired,
			StoreErrors: map[string]int64{},
			Entries:     s.Entries, Bytes: s.Bytes, Computes: s.Computes, ComputeSum: s.TotalCompute.Seconds(),
			Bounds: bounds,
		}
		memory := s.Hits
		for _, t := range s.Tiers {
			c.Calls = append(c.Calls, Calls{"hit", t.Tier, t.Hits})
			memory -= t.Hits
		}
		c.Calls = append(c.Calls, Calls{"hit", "memory", memory}, Calls{"miss", "", s.Misses}, Calls{"uncached", "", s.Uncached})
		var explained int64
		for _, site := range s.Sites {
			for _, r := range site.Reasons {
				c.Misses[Reason(r.Reason.Kind)] += r.Count
				explained += r.Count
			}
		}
		if other := s.Misses - explained; other > 0 {
			c.Misses["other"] += other
		}
		for _, e := range s.StoreErrorLog {
			c.StoreErrors[e.Tier] += e.Count
		}
		for i := range bounds {
			c.Buckets = append(c.Buckets, uint64(s.ComputeBuckets[i]))
		}
		if sites > 0 {
			ss := slices.Clone(s.Sites)
			slices.SortStableFunc(ss, func(x, y cacheruntime.SiteStats) int {
				return cmp.Compare(y.Hits+y.Misses+y.Uncached, x.Hits+x.Misses+x.Uncached)
			})
			for _, site := range ss[:min(len(ss), sites)] {
				c.Sites = append(c.Sites, Site{b.Relative(site.File), strconv.Itoa(site.Line), site.Hits, site.Misses, site.Uncached})
			}
		}
		out = append(out, c)
	}
	return out
}
