package promexport_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	promexport "github.com/cachelens/cachelens/exporters/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func square(n int) int {
	time.Sleep(time.Millisecond)
	return n * n
}

// The collector's series for one cache: calls by result and tier, misses
// by reason, the histogram of computations, the busiest sites, all with
// the labels that map them back to the source.
func TestCollect(t *testing.T) {
	var h cacheruntime.Handle
	name := fmt.Sprint("collector-square-", runs.Add(1))
	f := cacheruntime.Func1(square, cacheruntime.Name(name), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
	for i := range 10 {
		f(i % 4)
	}
	f(99)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promexport.New(promexport.Options{Sites: 1}))
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gather: %d, %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var labels map[string]string
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			l := map[string]string{}
			for _, p := range m.Label {
				l[p.GetName()] = p.GetValue()
			}
			if mf.GetName() != "cachelens_build_info" && l["cache"] != name {
				continue
			}
			key := mf.GetName()
			for _, k := range []string{"result", "tier", "reason"} {
				if v, ok := l[k]; ok {
					key += "," + k + "=" + v
				}
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key+",count"] = float64(m.Histogram.GetSampleCount())
			}
			if mf.GetName() == "cachelens_cache_entries" {
				labels = l
			}
		}
	}
	want := map[string]float64{
		"cachelens_cache_calls_total,result=hit,tier=memory": 6,
		"cachelens_cache_calls_total,result=miss,tier=":      5,
		"cachelens_cache_entries":                            5,
		"cachelens_cache_compute_duration_seconds,count":     5,
		"cachelens_cache_site_calls_total,result=hit":        6,
		"cachelens_build_info":                               1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// Every miss has a reason: the first call, then arguments that changed
	// since the previous call at the site.
	if r := got["cachelens_cache_misses_total,reason=first"] + got["cachelens_cache_misses_total,reason=args"]; r != 5 || got["cachelens_cache_misses_total,reason=first"] < 1 {
		t.Errorf("misses by reason: first %v, args %v", got["cachelens_cache_misses_total,reason=first"], got["cachelens_cache_misses_total,reason=args"])
	}
	if labels["file"] != "collector_test.go" || labels["line"] == "" || labels["package"] != "github.com/cachelens/cachelens/exporters/prometheus_test" || labels["module"] == "" {
		t.Errorf("labels %v", labels)
	}
	if s := h.Stats(); s.Hits != 6 {
		t.Errorf("the handle counts %d hits", s.Hits)
	}
	if !strings.Contains(promexport.New(promexport.Options{}).String(), "cachelens collector") {
		t.Error("String")
	}
}

// Scrapes one after another and at once write the same series: the label
// pairs the collector keeps between scrapes change nothing but the
// garbage.
func TestScrapesAgree(t *testing.T) {
	// A name of this run's own: with -count, an earlier run's cache of the
	// same Func call would be summed into this one's series.
	f := cacheruntime.Func1(square, cacheruntime.Name(fmt.Sprint("collector-agree-", runs.Add(1))), cacheruntime.NoReport())
	for i := range 6 {
		f(i % 3)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promexport.New(promexport.Options{Sites: 2}))
	name := fmt.Sprint("collector-agree-", runs.Load())
	// text is the scrape's series of this test's cache (the caches of
	// other tests are listed weakly and may go between scrapes).
	text := func() string {
		mfs, err := reg.Gather()
		if err != nil {
			t.Error(err)
			return ""
		}
		var b strings.Builder
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetName() == "cache" && l.GetValue() == name {
						b.WriteString(mf.GetName() + m.String() + "\n")
					}
				}
			}
		}
		return b.String()
	}
	first := text()
	if !strings.Contains(first, "collector-agree-") {
		t.Fatal("the cache is not in the scrape")
	}
	if second := text(); second != first {
		t.Errorf("a second scrape differs")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := text(); got != first {
				i := 0
				for i < len(got) && i < len(first) && got[i] == first[i] {
					i++
				}
				t.Errorf("a concurrent scrape differs at %d: %q vs %q", i, got[max(0, i-80):min(len(got), i+80)], first[max(0, i-80):min(len(first), i+80)])
			}
		}()
	}
	wg.Wait()
	// Caches are listed weakly: one nobody holds may go between scrapes.
	runtime.KeepAlive(f)
}

var runs atomic.Int64
