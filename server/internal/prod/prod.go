// Package prod reads what the team's Prometheus knows about the
// workspace's caches — the series the cachelens exporter
// (exporters/prometheus) exposes from production replicas — for the
// language server's production line, hover table and diagnostics.
//
// A Poller queries in the background (batched: eight queries a refresh,
// each bounded by a timeout), every minute and when the settings change;
// the server's handlers read its last Snapshot and never wait for
// Prometheus. Unreachable, slow or empty, it says so in the snapshot's
// status.
package prod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says where and what to read.
type Config struct {
	URL      string        // the Prometheus HTTP API's base, e.g. http://prometheus:9090
	Matchers string        // label matchers added to every selector, e.g. job="shop"
	Window   time.Duration // the production line's window (default 24 h)
	Refresh  time.Duration // default 1 min
	Timeout  time.Duration // bounds one refresh (default 5 s)
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = 24 * time.Hour
	}
	if c.Refresh <= 0 {
		c.Refresh = time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	return c
}

// Status of a snapshot.
const (
	StatusOff         = "off"         // no URL configured
	StatusPending     = "pending"     // configured, not read yet
	StatusOK          = "ok"          // read; Series holds what there is
	StatusNoData      = "no data"     // read, and no cachelens series match
	StatusUnreachable = "unreachable" // the last refresh failed (Err says why); older data is dropped
)

// Snapshot is what one refresh read.
type Snapshot struct {
	Status string
	Err    string
	At     time.Time
	Window time.Duration
	Series []*Series
}

// Series is one cache's production data, summed over replicas.
type Series struct {
	File      string // module-relative, as the exporter labels it
	Line      int
	Cache     string
	Hits      float64 // in the window
	Misses    float64
	Uncached  float64
	Rate      float64 // calls per second, over the last 5 minutes
	Mutations float64 // in the window
	HashErrs  float64
	Replicas  []Replica          // by instance
	Reasons   map[string]float64 // misses in the window by reason
	Revisions []string           // the builds reporting now
}

// Replica is one instance's share of a series.
type Replica struct {
	Instance     string
	Hits, Misses float64
}

// HitRate is hits / (hits + misses).
func (s *Series) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return s.Hits / (s.Hits + s.Misses)
}

// Lookup returns the series of the cache defined at line of the file at
// path, matching the series' module-relative file as a suffix of path.
func (s *Snapshot) Lookup(path string, line int) *Series {
	if s == nil {
		return nil
	}
	path = filepath.ToSlash(path)
	var best *Series
	for _, x := range s.Series {
		if x.Line == line && x.File != "" && (path == x.File || strings.HasSuffix(path, "/"+x.File)) {
			if best == nil || len(x.File) > len(best.File) {
				best = x
			}
		}
	}
	return best
}

// A Poller refreshes a Snapshot in the background.
type Poller struct {
	client  *http.Client
	changed func() // called after each refresh that changed the snapshot

	mu     sync.Mutex
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	snap   atomic.Pointer[Snapshot]
}

// NewPoller returns a poller that is off until Configure gives it a URL.
// changed runs (on the poller's goroutine) after each refresh.
func NewPoller(changed func()) *Poller {
	p := &Poller{client: &http.Client{}, changed: changed}
	p.snap.Store(&Snapshot{Status: StatusOff})
	return p
}

// Snapshot returns the last refresh's result.
func (p *Poller) Snapshot() *Snapshot { return p.snap.Load() }

// Configure (re)starts polling with cfg; an empty URL stops it.
func (p *Poller) Configure(cfg Config) {
	cfg = cfg.withDefaults()
	p.mu.Lock()
	if cfg == p.cfg && p.cancel != nil {
		p.mu.Unlock()
		return
	}
	wasOn := p.cancel != nil
	if wasOn {
		p.cancel()
	}
	p.cfg = cfg
	p.cancel = nil
	if cfg.URL == "" {
		p.mu.Unlock()
		p.wg.Wait()
		if wasOn {
			p.snap.Store(&Snapshot{Status: StatusOff})
			p.notify()
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.snap.Store(&Snapshot{Status: StatusPending, Window: cfg.Window})
	p.wg.Add(1)
	p.mu.Unlock()
	go p.loop(ctx, cfg)
}

// Close stops polling and waits for the goroutine.
func (p *Poller) Close() {
	p.mu.Lock()
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Poller) notify() {
	if p.changed != nil {
		p.changed()
	}
}

func (p *Poller) loop(ctx context.Context, cfg Config) {
	defer p.wg.Done()
	t := time.NewTicker(cfg.Refresh)
	defer t.Stop()
	for {
		snap := p.read(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		p.snap.Store(snap)
		p.notify()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh reads now (for tests and the restart command), returning the
// new snapshot.
func (p *Poller) Refresh(ctx context.Context) *Snapshot {
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	if cfg.URL == "" {
		return p.Snapshot()
	}
	snap := p.read(ctx, cfg)
	p.snap.Store(snap)
	p.notify()
	return snap
}

// read runs one refresh's queries.
func (p *Poller) read(ctx context.Context, cfg Config) *Snapshot {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	now := time.Now()
	snap := &Snapshot{At: now, Window: cfg.Window}
	w := promDuration(cfg.Window)
	sel := func(metric string, extra ...string) string {
		var m []string
		if cfg.Matchers != "" {
			m = append(m, cfg.Matchers)
		}
		m = append(m, extra...)
		return metric + "{" + strings.Join(m, ",") + "}"
	}
	by := "file, line, cache"
	type query struct {
		q   string
		use func(r result, x *Series, v float64)
	}
	queries := []query{
		{fmt.Sprintf("sum by (%s, result) (increase(%s[%s]))", by, sel("cachelens_cache_calls_total"), w), func(r result, x *Series, v float64) {
			switch r.Metric["result"] {
			case "hit":
				x.Hits += v
			case "miss":
				x.Misses += v
			case "uncached":
				x.Uncached += v
			}
		}},
		{fmt.Sprintf("sum by (%s) (rate(%s[5m]))", by, sel("cachelens_cache_calls_total")), func(r result, x *Series, v float64) { x.Rate += v }},
		{fmt.Sprintf("sum by (%s) (increase(%s[%s]))", by, sel("cachelens_cache_mutations_total"), w), func(r result, x *Series, v float64) { x.Mutations += v }},
		{fmt.Sprintf("sum by (%s) (increase(%s[%s]))", by, sel("cachelens_cache_hash_errors_total"), w), func(r result, x *Series, v float64) { x.HashErrs += v }},
		{fmt.Sprintf("sum by (%s, instance, result) (increase(%s[%s]))", by, sel("cachelens_cache_calls_total", `result=~"hit|miss"`), w), func(r result, x *Series, v float64) {
			inst := r.Metric["instance"]
			i := slices.IndexFunc(x.Replicas, func(rp Replica) bool { return rp.Instance == inst })
			if i < 0 {
				x.Replicas = append(x.Replicas, Replica{Instance: inst})
				i = len(x.Replicas) - 1
			}
			if r.Metric["result"] == "hit" {
				x.Replicas[i].Hits += v
			} else {
				x.Replicas[i].Misses += v
			}
		}},
		{fmt.Sprintf("sum by (%s, reason) (increase(%s[%s]))", by, sel("cachelens_cache_misses_total"), w), func(r result, x *Series, v float64) {
			if x.Reasons == nil {
				x.Reasons = map[string]float64{}
			}
			x.Reasons[r.Metric["reason"]] += v
		}},
		{fmt.Sprintf("count by (%s, revision) (%s)", by, sel("cachelens_cache_entries")), func(r result, x *Series, v float64) {
			if rev := r.Metric["revision"]; rev != "" && !slices.Contains(x.Revisions, rev) {
				x.Revisions = append(x.Revisions, rev)
			}
		}},
	}
	type key struct {
		file  string
		line  int
		cache string
	}
	series := map[key]*Series{}
	for _, q := range queries {
		rs, err := p.query(ctx, cfg.URL, q.q, now)
		if err != nil {
			snap.Status, snap.Err = StatusUnreachable, err.Error()
			return snap
		}
		for _, r := range rs {
			line, _ := strconv.Atoi(r.Metric["line"])
			k := key{r.Metric["file"], line, r.Metric["cache"]}
			x := series[k]
			if x == nil {
				x = &Series{File: k.file, Line: k.line, Cache: k.cache}
				series[k] = x
			}
			q.use(r, x, r.value())
		}
	}
	for _, x := range series {
		slices.SortFunc(x.Replicas, func(a, b Replica) int { return strings.Compare(a.Instance, b.Instance) })
		slices.Sort(x.Revisions)
		snap.Series = append(snap.Series, x)
	}
	slices.SortFunc(snap.Series, func(a, b *Series) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	snap.Status = StatusOK
	if len(snap.Series) == 0 {
		snap.Status = StatusNoData
	}
	return snap
}

// promDuration writes d as a PromQL duration.
func promDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", max(d/time.Second, 1))
}

type result struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (r result) value() float64 {
	s, _ := r.Value[1].(string)
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// maxBody bounds what one answer may hold.
const maxBody = 16 << 20

// query runs one instant query.
func (p *Poller) query(ctx context.Context, base, q string, at time.Time) ([]result, error) {
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", base, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("prometheus at %s did not answer in time", base)
		}
		return nil, fmt.Errorf("prometheus at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("prometheus at %s: %w", base, err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []result `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("prometheus at %s answered %s, not its API's JSON", base, resp.Status)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus at %s: %s", base, r.Error)
	}
	return r.Data.Result, nil
}
