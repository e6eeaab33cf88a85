package promexport_test

import (
	"strings"
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
	f := cacheruntime.Func1(square, cacheruntime.Name("collector-square"), cacheruntime.NoReport(), cacheruntime.WithHandle(&h))
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
			if mf.GetName() != "cachelens_build_info" && l["cache"] != "collector-square" {
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
