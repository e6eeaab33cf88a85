// Package cacheotel exports cacheruntime's statistics through
// OpenTelemetry metrics (go.opentelemetry.io/otel/metric): observable
// instruments read on each collection, so that the call path does not
// change. It is a module of its own so that programs that use
// cacheruntime without it never download OpenTelemetry.
//
//	reg, err := cacheotel.Register(otel.GetMeterProvider())
//	defer reg.Unregister()
//
// The instruments carry the same names, attributes and meanings as the
// Prometheus collector's series (docs/metrics.md), so an OpenTelemetry
// pipeline into Prometheus (its exporter turns cachelens.cache.calls into
// cachelens_cache_calls_total) serves the language server's production
// line alike. OpenTelemetry's API has no asynchronous histogram: Register
// observes compute time as the counters cachelens.cache.compute.time
// (seconds) and cachelens.cache.computes, and Producer gives SDK readers
// the histogram itself (cachelens.cache.compute.duration).
package cacheotel

import (
	"context"
	"fmt"
	"runtime"

	"github.com/cachelens/cachelens/internal/cachemetrics"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Register creates the instruments on a meter of mp and the callback that
// observes every cache. Unregister the returned registration to stop.
func Register(mp metric.MeterProvider) (metric.Registration, error) {
	m := mp.Meter("github.com/cachelens/cachelens/exporters/otel")
	build := cachemetrics.ReadBuild()
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	calls := counter("cachelens.cache.calls", "{call}", "Calls of a cached function by result (hit, miss, uncached) and, for hits, the tier that answered.")
	misses := counter("cachelens.cache.misses", "{call}", "Misses of a cached function by reason.")
	hashErrs := counter("cachelens.cache.hash_errors", "{call}", "Calls whose arguments could not be hashed (they ran uncached).")
	muts := counter("cachelens.cache.mutations", "{call}", "Hits that found their cached result changed by a caller.")
	evictions := counter("cachelens.cache.evictions", "{entry}", "Entries evicted to stay within MaxEntries.")
	expirations := counter("cachelens.cache.expirations", "{entry}", "Entries removed because their TTL passed.")
	storeErrs := counter("cachelens.cache.store_errors", "{error}", "Errors of the stores behind memory by tier.")
	computes := counter("cachelens.cache.computes", "{call}", "Computations on misses.")
	entries := gauge("cachelens.cache.entries", "{entry}", "Entries held in memory.")
	bytes := gauge("cachelens.cache.memory", "By", "Approximate bytes the entries' results hold in memory.")
	info := gauge("cachelens.build.info", "1", "The build the caches' series come from.")
	computeTime, err := m.Float64ObservableCounter("cachelens.cache.compute.time", metric.WithUnit("s"), metric.WithDescription("Time spent computing on misses."))
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("cacheotel: creating instruments: %w", err)
		}
	}
	buildAttrs := metric.WithAttributes(attribute.String("module", build.Module), attribute.String("version", build.Version),
		attribute.String("revision", build.Revision), attribute.String("go_version", runtime.Version()))
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(info, 1, buildAttrs)
		for _, c := range cachemetrics.Read(build, 0) {
			base := make([]attribute.KeyValue, len(c.Labels))
			for i, v := range c.Labels {
				base[i] = attribute.String(cachemetrics.LabelNames[i], v)
			}
			with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
				return metric.WithAttributes(append(append([]attribute.KeyValue(nil), base...), kv...)...)
			}
			for _, x := range c.Calls {
				o.ObserveInt64(calls, x.N, with(attribute.String("result", x.Result), attribute.String("tier", x.Tier)))
			}
			for reason, n := range c.Misses {
				o.ObserveInt64(misses, n, with(attribute.String("reason", reason)))
			}
			for tier, n := range c.StoreErrors {
				o.ObserveInt64(storeErrs, n, with(attribute.String("tier", tier)))
			}
			plain := with()
			o.ObserveInt64(hashErrs, c.HashErrors, plain)
			o.ObserveInt64(muts, c.Mutations, plain)
			o.ObserveInt64(evictions, c.Evictions, plain)
			o.ObserveInt64(expirations, c.Expirations, plain)
			o.ObserveInt64(computes, c.Computes, plain)
			o.ObserveFloat64(computeTime, c.ComputeSum, plain)
			o.ObserveInt64(entries, c.Entries, plain)
			o.ObserveInt64(bytes, c.Bytes, plain)
		}
		return nil
	}, calls, misses, hashErrs, muts, evictions, expirations, storeErrs, computes, computeTime, entries, bytes, info)
}
