// Package promtest runs a real Prometheus (Debian's prometheus package)
// for tests: on a free local port, with a generated scrape configuration
// and a short scrape interval, in a directory of the test's own. It
// serves the exporter's tests (exporters/prometheus) and the language
// server's (server/lsp).
package promtest

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
	"testing"
	"time"
)

// Require skips the test when prometheus is not installed, or fails it
// when CACHELENS_REQUIRE_PROMETHEUS is set (.ci/run sets it).
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("prometheus"); err != nil {
		if os.Getenv("CACHELENS_REQUIRE_PROMETHEUS") != "" {
			t.Fatal("prometheus is not installed (apt-get install prometheus)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
}

// Server is a running Prometheus.
type Server struct {
	Addr string // host:port of its HTTP API
	t    testing.TB
	cmd  *exec.Cmd
	log  string
}

// Start runs Prometheus scraping targets (host:port each, as job "job")
// every second, until the test ends or Kill.
func Start(t testing.TB, job string, targets ...string) *Server {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), t: t, log: filepath.Join(dir, "prometheus.log")}
	quoted := ""
	for i, tg := range targets {
		if i > 0 {
			quoted += ", "
		}
		quoted += strconv.Quote(tg)
	}
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: %s\n    static_configs:\n      - targets: [%s]\n", job, quoted)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"), "--web.listen-address="+s.Addr,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	WaitHTTP(t, "http://"+s.Addr+"/-/ready")
	return s
}

// Kill stops Prometheus at once.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string
	Value  [2]any
}

// Float returns the sample's value.
func (s Sample) Float() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

// Query runs an instant query.
func (s *Server) Query(q string) []Sample {
	s.t.Helper()
	body := Get(s.t, "http://"+s.Addr+"/api/v1/query?query="+url.QueryEscape(q))
	var r struct {
		Status string
		Data   struct{ Result []Sample }
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != "success" {
		s.t.Fatalf("query %s: %v %s", q, err, body)
	}
	return r.Data.Result
}

// WaitScrapes waits until each of the job's n targets was scraped at
// least scrapes times (in the last minute).
func (s *Server) WaitScrapes(job string, n, scrapes int) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rs := s.Query(fmt.Sprintf(`count_over_time(up{job=%q}[1m])`, job))
		ok := len(rs) == n
		for _, r := range rs {
			ok = ok && r.Float() >= float64(scrapes)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.log)
			s.t.Fatalf("prometheus did not scrape %d targets %d times:\n%s", n, scrapes, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreePort returns a free local TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Get returns the body at u.
func Get(t testing.TB, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// WaitHTTP waits for u to answer 200.
func WaitHTTP(t testing.TB, u string) {
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

// Replicas builds an exporter's test program (./testdata/replica in the
// module at dir: exporters/prometheus or exporters/otel — a cached
// function behind /work?n=N, a mutated one behind /mutate, its counts at
// /stats, the exporter at /metrics) and runs n of it, returning their
// host:port addresses.
func Replicas(t testing.TB, dir string, n int) []string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "replica")
	build := exec.Command("go", "build", "-o", bin, "./testdata/replica")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var addrs []string
	for range n {
		addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		cmd := exec.Command(bin, "-addr", addr)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		WaitHTTP(t, "http://"+addr+"/stats")
		addrs = append(addrs, addr)
	}
	return addrs
}

// Counts returns the replicas' own hits and misses (their /stats), summed:
// what the scraped series must add up to.
func Counts(t testing.TB, replicas []string) (hits, misses int64) {
	t.Helper()
	for _, r := range replicas {
		var s map[string]int64
		if err := json.Unmarshal([]byte(Get(t, "http://"+r+"/stats")), &s); err != nil {
			t.Fatal(err)
		}
		hits, misses = hits+s["hits"], misses+s["misses"]
	}
	return hits, misses
}
