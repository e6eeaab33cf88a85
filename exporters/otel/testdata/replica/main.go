// Command replica is one replica of a service whose cached function the
// OpenTelemetry adapter's tests watch through a real Prometheus: it serves
// /metrics (the adapter's instruments, through OpenTelemetry's Prometheus
// exporter), /work?n=N (N calls of the cached function
// over ten arguments), /mutate (a caller changes a cached result) and
// /stats (its own counts, to check the scraped ones against).
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strconv"

	"github.com/cachelens/cachelens/cacheruntime"
	cacheotel "github.com/cachelens/cachelens/exporters/otel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

type price struct{ Cents int }

func priceUncached(sku int) price { return price{Cents: sku * 100} }

var stats cacheruntime.Handle

var lookupPrice = cacheruntime.Func1(priceUncached, cacheruntime.WithHandle(&stats), cacheruntime.NoReport())

func tagsUncached(sku int) []string { return []string{"new", "sale"} }

// lookupTags's callers change its result (/mutate): a mutation.
var lookupTags = cacheruntime.Func1(tagsUncached, cacheruntime.NoReport())

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithProducer(cacheotel.Producer()))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := cacheotel.Register(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))); err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := range n {
			lookupPrice(i % 10)
		}
	})
	http.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		tags := lookupTags(1)
		tags[0] = "changed"
		lookupTags(1)
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		s := stats.Stats()
		json.NewEncoder(w).Encode(map[string]int64{"hits": s.Hits, "misses": s.Misses})
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
