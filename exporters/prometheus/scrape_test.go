package promexport_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A real Prometheus (Debian's package) scrapes two replicas of
// testdata/replica every second; the summed series it stores equal the
// replicas' own counts. Without prometheus the test skips, unless
// CACHELENS_REQUIRE_PROMETHEUS is set (.ci/run sets it).
func TestScrapedByPrometheus(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		if os.Getenv("CACHELENS_REQUIRE_PROMETHEUS") != "" {
			t.Fatal("prometheus is not installed (apt-get install prometheus)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "replica")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/replica").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var replicas []string
	for range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cmd := exec.Command(bin, "-addr", addr)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitHTTP(t, "http://"+addr+"/stats")
		replicas = append(replicas, addr)
	}
	// Load: 25 and 40 calls over ten arguments.
	for i, n := range []int{25, 40} {
		get(t, fmt.Sprintf("http://%s/work?n=%d", replicas[i], n))
	}
	var hits, misses int64
	for _, r := range replicas {
		var s map[string]int64
		if err := json.Unmarshal([]byte(get(t, "http://"+r+"/stats")), &s); err != nil {
			t.Fatal(err)
		}
		hits, misses = hits+s["hits"], misses+s["misses"]
	}
	if hits != 45 || misses != 20 {
		t.Fatalf("the replicas count %d hits and %d misses", hits, misses)
	}

	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: [%q, %q]\n", replicas[0], replicas[1])
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600)
	log, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	prom := exec.Command("prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"), "--web.listen-address="+promAddr,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"))
	prom.Stdout, prom.Stderr = log, log
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prom.Process.Kill(); prom.Wait() })
	waitHTTP(t, "http://"+promAddr+"/-/ready")
	query := func(q string) []sample {
		t.Helper()
		body := get(t, "http://"+promAddr+"/api/v1/query?query="+url.QueryEscape(q))
		var r struct {
			Status string
			Data   struct{ Result []sample }
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != "success" {
			t.Fatalf("query %s: %v %s", q, err, body)
		}
		return r.Data.Result
	}
	// Two scrapes of both replicas.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if s := query(`count_over_time(up{job="shop"}[1m])`); len(s) == 2 && s[0].value() >= 2 && s[1].value() >= 2 {
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus did not scrape both replicas twice:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := query(`sum(cachelens_cache_calls_total{job="shop",result="hit"})`); len(s) != 1 || s[0].value() != float64(hits) {
		t.Errorf("summed hits %v, want %d", s, hits)
	}
	if s := query(`sum(cachelens_cache_calls_total{job="shop",result="miss"})`); len(s) != 1 || s[0].value() != float64(misses) {
		t.Errorf("summed misses %v, want %d", s, misses)
	}
	// One series per replica, mapped back to the source.
	s := query(`cachelens_cache_entries{job="shop"}`)
	if len(s) != 2 {
		t.Fatalf("entries series: %v", s)
	}
	for _, x := range s {
		m := x.Metric
		if m["file"] != "testdata/replica/main.go" || m["line"] == "" || !strings.HasSuffix(m["cache"], "priceUncached") || m["module"] != "github.com/cachelens/cachelens/exporters/prometheus" || x.value() != 10 {
			t.Errorf("series %v = %v", m, x.value())
		}
	}
	if s := query(`sum(cachelens_cache_compute_duration_seconds_count{job="shop"})`); len(s) != 1 || s[0].value() != float64(misses) {
		t.Errorf("computations %v, want %d", s, misses)
	}
}

type sample struct {
	Metric map[string]string
	Value  [2]any
}

func (s sample) value() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitHTTP waits for u to answer 200.
func waitHTTP(t *testing.T, u string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer", u)
		}
	}
}
