package cacheotel

import (
	"context"
	"time"

	"github.com/cachelens/cachelens/internal/cachemetrics"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Producer returns an OpenTelemetry SDK producer of the compute-time
// histogram, cachelens.cache.compute.duration (seconds, cumulative, the
// buckets of cacheruntime.ComputeBounds), which the API's asynchronous
// instruments cannot express. Give it to a reader:
//
//	sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(cacheotel.Producer()))
//	otelprom.New(otelprom.WithProducer(cacheotel.Producer()))
//
// Through OpenTelemetry's Prometheus exporter it is the Prometheus
// collector's cachelens_cache_compute_duration_seconds.
func Producer() sdkmetric.Producer {
	return producer{build: cachemetrics.ReadBuild(), start: time.Now()}
}

type producer struct {
	build cachemetrics.Build
	start time.Time
}

func (p producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	h := metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality}
	for _, c := range cachemetrics.Read(p.build, 0) {
		kvs := make([]attribute.KeyValue, len(c.Labels))
		for i, v := range c.Labels {
			kvs[i] = attribute.String(cachemetrics.LabelNames[i], v)
		}
		// OpenTelemetry's bucket counts are per bucket, with one more for
		// the values above the last bound; cacheruntime's are cumulative.
		counts := make([]uint64, len(c.Buckets)+1)
		var prev uint64
		for i, cum := range c.Buckets {
			counts[i] = cum - prev
			prev = cum
		}
		counts[len(c.Buckets)] = uint64(c.Computes) - prev
		h.DataPoints = append(h.DataPoints, metricdata.HistogramDataPoint[float64]{
			Attributes: attribute.NewSet(kvs...), StartTime: p.start, Time: now,
			Count: uint64(c.Computes), Sum: c.ComputeSum, Bounds: c.Bounds, BucketCounts: counts,
		})
	}
	return []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "github.com/cachelens/cachelens/exporters/otel"},
		Metrics: []metricdata.Metrics{{
			Name: "cachelens.cache.compute.duration", Description: "Time spent computing on misses.", Unit: "s", Data: h,
		}},
	}}, nil
}
