package cacheotel_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	cacheotel "github.com/cachelens/cachelens/exporters/otel"
	"github.com/cachelens/cachelens/internal/promtest"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func square(n int) int {
	time.Sleep(time.Millisecond)
	return n * n
}

// The producer's histogram: per-bucket counts that add up to the
// computations, cacheruntime's bounds.
func TestProducer(t *testing.T) {
	f := cacheruntime.Func1(square, cacheruntime.Name("otel-producer"), cacheruntime.NoReport())
	for i := range 5 {
		f(i)
	}
	sms, err := cacheotel.Producer().Produce(context.Background())
	if err != nil || len(sms) != 1 || len(sms[0].Metrics) != 1 {
		t.Fatalf("%v %v", sms, err)
	}
	h := sms[0].Metrics[0].Data.(metricdata.Histogram[float64])
	for _, p := range h.DataPoints {
		if v, _ := p.Attributes.Value("cache"); v.AsString() != "otel-producer" {
			continue
		}
		var n uint64
		for _, c := range p.BucketCounts {
			n += c
		}
		if p.Count != 5 || n != 5 || len(p.BucketCounts) != len(p.Bounds)+1 || p.Sum < 0.005 {
			t.Errorf("data point %+v", p)
		}
		runtime.KeepAlive(f)
		return
	}
	runtime.KeepAlive(f) // caches are listed weakly
	t.Error("no data point for the cache")
}

// The instruments observe every cache with the attributes that map it to
// its source.
func TestObserve(t *testing.T) {
	f := cacheruntime.Func1(square, cacheruntime.Name("otel-square"), cacheruntime.NoReport())
	for i := range 10 {
		f(i % 4)
	}
	reader := sdkmetric.NewManualReader()
	reg, err := cacheotel.Register(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var file string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(attrs map[string]string, v float64) {
				if attrs["cache"] != "otel-square" && m.Name != "cachelens.build.info" {
					return
				}
				k := m.Name
				for _, a := range []string{"result", "tier", "reason"} {
					if x, ok := attrs[a]; ok {
						k += "," + a + "=" + x
					}
				}
				got[k] = v
				if attrs["file"] != "" {
					file = attrs["file"]
				}
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(attrMap(p.Attributes.ToSlice()), float64(p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					add(attrMap(p.Attributes.ToSlice()), p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(attrMap(p.Attributes.ToSlice()), float64(p.Value))
				}
			}
		}
	}
	for k, v := range map[string]float64{
		"cachelens.cache.calls,result=hit,tier=memory": 6,
		"cachelens.cache.calls,result=miss,tier=":      4,
		"cachelens.cache.computes":                     4,
		"cachelens.cache.entries":                      4,
		"cachelens.build.info":                         1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["cachelens.cache.compute.time"] < 0.004 {
		t.Errorf("compute time %v s", got["cachelens.cache.compute.time"])
	}
	if file != "otel_test.go" {
		t.Errorf("file attribute %q", file)
	}
	runtime.KeepAlive(f) // caches are listed weakly
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// Through OpenTelemetry's Prometheus exporter, scraped by a real
// Prometheus, the series have the Prometheus collector's names and labels:
// what the language server queries.
func TestScrapedThroughOTel(t *testing.T) {
	promtest.Require(t)
	dir, _ := filepath.Abs(".")
	replicas := promtest.Replicas(t, dir, 1)
	promtest.Get(t, fmt.Sprintf("http://%s/work?n=%d", replicas[0], 30))
	hits, misses := promtest.Counts(t, replicas)
	prom := promtest.Start(t, "otel", replicas...)
	prom.WaitScrapes("otel", 1, 2)
	if r := prom.Query(`sum(cachelens_cache_calls_total{job="otel",result="hit",cache=~".*priceUncached"})`); len(r) != 1 || r[0].Float() != float64(hits) {
		t.Errorf("hits %v, the replica counts %d", r, hits)
	}
	r := prom.Query(`cachelens_cache_entries{job="otel",cache=~".*priceUncached"}`)
	if len(r) != 1 || r[0].Metric["file"] != "testdata/replica/main.go" || r[0].Metric["line"] == "" || !strings.HasSuffix(r[0].Metric["module"], "exporters/otel") {
		t.Errorf("entries %v", r)
	}
	if r := prom.Query(`cachelens_cache_memory_bytes{job="otel"}`); len(r) == 0 {
		t.Error("no cachelens_cache_memory_bytes")
	}
	// The histogram, through the producer: the Prometheus collector's name.
	if r := prom.Query(`sum(cachelens_cache_compute_duration_seconds_count{job="otel",cache=~".*priceUncached"})`); len(r) != 1 || r[0].Float() != float64(misses) {
		t.Errorf("computations %v, the replica counts %d misses", r, misses)
	}
	if r := prom.Query(`cachelens_cache_compute_duration_seconds_bucket{job="otel",cache=~".*priceUncached",le="+Inf"}`); len(r) != 1 {
		t.Errorf("buckets %v", r)
	}
}

// The replica (under testdata, which go mod tidy does not read) needs
// these modules: naming them here keeps them in go.mod.
var (
	_ = otelprom.New
	_ = prometheus.NewRegistry
)
