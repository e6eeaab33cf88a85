package promexport_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/internal/promtest"
)

// A real Prometheus (Debian's package) scrapes two replicas of
// testdata/replica every second; the summed series it stores equal the
// replicas' own counts and carry the labels that map them to the source.
func TestScrapedByPrometheus(t *testing.T) {
	promtest.Require(t)
	dir, _ := filepath.Abs(".")
	replicas := promtest.Replicas(t, dir, 2)
	// Load: 25 and 40 calls over ten arguments.
	for i, n := range []int{25, 40} {
		promtest.Get(t, fmt.Sprintf("http://%s/work?n=%d", replicas[i], n))
	}
	hits, misses := promtest.Counts(t, replicas)
	if hits != 45 || misses != 20 {
		t.Fatalf("the replicas count %d hits and %d misses", hits, misses)
	}
	prom := promtest.Start(t, "shop", replicas...)
	prom.WaitScrapes("shop", 2, 2)
	if s := prom.Query(`sum(cachelens_cache_calls_total{job="shop",result="hit"})`); len(s) != 1 || s[0].Float() != float64(hits) {
		t.Errorf("summed hits %v, want %d", s, hits)
	}
	if s := prom.Query(`sum(cachelens_cache_calls_total{job="shop",result="miss"})`); len(s) != 1 || s[0].Float() != float64(misses) {
		t.Errorf("summed misses %v, want %d", s, misses)
	}
	// One series per replica, mapped back to the source.
	s := prom.Query(`cachelens_cache_entries{job="shop",cache=~".*priceUncached"}`)
	if len(s) != 2 {
		t.Fatalf("entries series: %v", s)
	}
	for _, x := range s {
		m := x.Metric
		if m["file"] != "testdata/replica/main.go" || m["line"] == "" || m["binding"] != "lookupPrice" || m["module"] != "github.com/cachelens/cachelens/exporters/prometheus" || x.Float() != 10 {
			t.Errorf("series %v = %v", m, x.Float())
		}
	}
	if s := prom.Query(`sum(cachelens_cache_compute_duration_seconds_count{job="shop",cache=~".*priceUncached"})`); len(s) != 1 || s[0].Float() != float64(misses) {
		t.Errorf("computations %v, want %d", s, misses)
	}
	if s := prom.Query(`cachelens_build_info{job="shop"}`); len(s) != 2 || !strings.HasPrefix(s[0].Metric["go_version"], "go") {
		t.Errorf("build info %v", s)
	}
}
