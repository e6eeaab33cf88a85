// Package exportbench measures what the metrics exporters cost: a hit
// with an exporter registered (and scraped every 10 ms) against none, and
// one scrape of a process with 1,000 caches, through the Prometheus
// collector and the OpenTelemetry adapter.
package exportbench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	cacheotel "github.com/cachelens/cachelens/exporters/otel"
	promexport "github.com/cachelens/cachelens/exporters/prometheus"
	"github.com/cachelens/cachelens/internal/cputime"
	"github.com/prometheus/client_golang/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func small(a int, s string) int { return a + len(s) }

// scraper collects through the exporter every 10 ms until stopped.
func scraper(exporter string) (stop func()) {
	var collect func()
	switch exporter {
	case "prometheus":
		reg := prometheus.NewRegistry()
		reg.MustRegister(promexport.New(promexport.Options{}))
		collect = func() { reg.Gather() }
	case "otel":
		reader := sdkmetric.NewManualReader()
		cacheotel.Register(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
		collect = func() {
			var rm metricdata.ResourceMetrics
			reader.Collect(context.Background(), &rm)
		}
	default:
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				collect()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func BenchmarkHit(b *testing.B) {
	for _, exporter := range []string{"none", "prometheus", "otel"} {
		b.Run("exporter="+exporter, func(b *testing.B) {
			f := cacheruntime.Func2(small, cacheruntime.NoReport())
			f(1, "x")
			stop := scraper(exporter)
			defer stop()
			b.ResetTimer()
			ct := cputime.Start()
			for range b.N {
				f(1, "x")
			}
			ct.Report(b)
		})
	}
}

// caches makes n caches, each called twice (a miss and a hit).
var caches = sync.OnceValue(func() []func(int, string) int {
	var out []func(int, string) int
	for i := range 1000 {
		f := cacheruntime.Func2(small, cacheruntime.NoReport(), cacheruntime.Name(fmt.Sprint("cache", i)))
		f(i, "x")
		f(i, "x")
		out = append(out, f)
	}
	return out
})

func BenchmarkScrape1000(b *testing.B) {
	keep := caches()
	b.Run("exporter=prometheus", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(promexport.New(promexport.Options{}))
		ct := cputime.Start()
		for range b.N {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
		ct.Report(b)
	})
	b.Run("exporter=otel", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		reg, err := cacheotel.Register(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
		if err != nil {
			b.Fatal(err)
		}
		defer reg.Unregister()
		ct := cputime.Start()
		for range b.N {
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				b.Fatal(err)
			}
		}
		ct.Report(b)
	})
	_ = keep
}
