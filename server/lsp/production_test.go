package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/internal/promtest"
	"github.com/cachelens/cachelens/internal/testmodule"
	"github.com/cachelens/cachelens/server/internal/prod"
)

// TestProductionLine: a real Prometheus scrapes two replicas of the
// exporter's test program; the language server, pointed at it, shows the
// replicas' summed hit rate in a production line above the cache, both
// replicas in the hover, and the production mutation as a diagnostic.
// With Prometheus killed, the line goes, the status says why, and
// nothing fails.
func TestProductionLine(t *testing.T) {
	promtest.Require(t)
	repo := testmodule.Root(t)
	replicas := promtest.Replicas(t, filepath.Join(repo, "exporters", "prometheus"), 2)
	prom := promtest.Start(t, "shop", replicas...)
	// The first scrapes see the caches before any call, so the window's
	// increase covers all of the load.
	prom.WaitScrapes("shop", 2, 2)
	for i, n := range []int{25, 40} {
		promtest.Get(t, fmt.Sprintf("http://%s/work?n=%d", replicas[i], n))
	}
	promtest.Get(t, "http://"+replicas[0]+"/mutate")
	hits, misses := promtest.Counts(t, replicas)
	prom.WaitScrapes("shop", 2, 5)

	src, err := os.ReadFile(filepath.Join(repo, "exporters", "prometheus", "testdata", "replica", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "testdata", "replica", "main.go")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, src, 0o644)
	lineOf := func(s string) int { return strings.Count(string(src[:strings.Index(string(src), s)]), "\n") }

	h := start(t)
	h.initialize(initOpts{roots: []string{dir}, refresh: true, options: map[string]any{
		"prometheus": map[string]any{"url": "http://" + prom.Addr, "matchers": `job="shop"`, "window": "1h"},
	}})
	h.open(path, string(src))
	uri := "file://" + path
	prodLenses := func() map[int]string {
		ls, err := h.c.CodeLenses(uri)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]string{}
		for _, l := range ls {
			if strings.HasPrefix(l.Command.Title, "prod ") {
				out[l.Range.Start.Line] = l.Command.Title
			}
		}
		return out
	}
	var lenses map[int]string
	for deadline := time.Now().Add(30 * time.Second); len(lenses) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no production lines: %v; status %s", lenses, h.c.Status())
		}
		lenses = prodLenses()
	}
	price := lenses[lineOf("var lookupPrice")]
	m := regexp.MustCompile(`^prod 1h: (\d+)% hits · [\d.k]+ calls/s · 2 replicas$`).FindStringSubmatch(price)
	if m == nil {
		t.Fatalf("the price cache's line %q (lines %v)", price, lenses)
	}
	// Prometheus extrapolates increase() a little; the rate is a ratio
	// of two series scraped alike.
	want := 100 * float64(hits) / float64(hits+misses)
	if got, _ := strconv.Atoi(m[1]); float64(got) < want-3 || float64(got) > want+3 {
		t.Errorf("production hit rate %d%%, the replicas count %.1f%% (%d hits, %d misses)", got, want, hits, misses)
	}
	if tags := lenses[lineOf("var lookupTags")]; !strings.Contains(tags, "2 replicas · 1 mutation") {
		t.Errorf("the tags cache's line %q", tags)
	}

	// The hover lists both replicas.
	var hov struct {
		Contents struct{ Value string }
	}
	pos := map[string]any{"line": lineOf("var lookupPrice"), "character": 6}
	if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": docID(path), "position": pos}, &hov); err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		if !strings.Contains(hov.Contents.Value, "| "+r+" |") {
			t.Errorf("the hover does not list replica %s:\n%s", r, hov.Contents.Value)
		}
	}
	if !strings.Contains(hov.Contents.Value, "**Production, last 1h**") || !strings.Contains(hov.Contents.Value, "| miss reason | misses |") {
		t.Errorf("hover:\n%s", hov.Contents.Value)
	}

	// The production mutation is a diagnostic at the tags cache.
	if _, err := h.c.WaitDiagnostics(uri, 20*time.Second, func(ds []lsptest.Diagnostic) bool {
		for _, d := range ds {
			if d.Code == "production-mutation" && d.Range.Start.Line == lineOf("var lookupTags") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}

	// Prometheus gone: the line goes, the status and the log say why.
	prom.Kill()
	if snap := h.s.prod.Refresh(context.Background()); snap.Status != prod.StatusUnreachable {
		t.Fatalf("status %q after Prometheus went", snap.Status)
	}
	if l := prodLenses(); len(l) != 0 {
		t.Errorf("production lines without Prometheus: %v", l)
	}
	var st Status
	for deadline := time.Now().Add(10 * time.Second); st.Production != prod.StatusUnreachable; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", st)
		}
		json.Unmarshal(h.c.Status(), &st)
	}
	if !strings.Contains(st.ProductionError, prom.Addr) || !h.logs.wait("production metrics: prometheus at", 5*time.Second) {
		t.Errorf("status %+v; the log does not say why", st)
	}
	if err := h.c.Call("textDocument/hover", map[string]any{"textDocument": docID(path), "position": pos}, &hov); err != nil {
		t.Errorf("hover without Prometheus: %v", err)
	}
}
