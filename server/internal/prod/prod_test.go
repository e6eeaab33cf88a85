package prod

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLookupBySuffix(t *testing.T) {
	s := &Snapshot{Series: []*Series{
		{File: "main.go", Line: 10, Cache: "a"},
		{File: "cmd/api/main.go", Line: 10, Cache: "b"},
		{File: "x.go", Line: 3, Cache: "c"},
	}}
	for path, want := range map[string]string{
		"/w/cmd/api/main.go": "b", // the longest suffix wins
		"/w/main.go":         "a",
		"/w/notmain.go":      "",
	} {
		got := s.Lookup(path, 10)
		if (got == nil && want != "") || (got != nil && got.Cache != want) {
			t.Errorf("Lookup(%s) = %+v, want %q", path, got, want)
		}
	}
	if (*Snapshot)(nil).Lookup("/w/main.go", 10) != nil {
		t.Error("a nil snapshot found something")
	}
}

func TestFormat(t *testing.T) {
	x := &Series{Hits: 960, Misses: 40, Rate: 1234, Mutations: 2, Revisions: []string{"abcdef1234567890"},
		Replicas: []Replica{{"10.0.0.1:8080", 500, 20}, {"10.0.0.2:8080", 460, 20}}, Reasons: map[string]float64{"first": 30, "args": 10}}
	if got := x.LensTitle(24*time.Hour, "abcdef1234567890"); got != "prod 24h: 96% hits · 1.2k calls/s · 2 replicas · 2 mutations" {
		t.Errorf("LensTitle = %q", got)
	}
	if got := x.LensTitle(24*time.Hour, "0123456789"); !strings.HasSuffix(got, " · from abcdef123456") {
		t.Errorf("another revision: %q", got)
	}
	if x.OtherRevision("") || x.OtherRevision("abcdef1") {
		t.Error("OtherRevision with an unknown or a matching revision")
	}
	md := x.Hover(7*24*time.Hour, "0123456789")
	for _, want := range []string{"**Production, last 7d**", "| 10.0.0.1:8080 | 500 | 20 | 96.2% |", "| first | 30 |\n| args | 10 |", "2 mutations", "not the workspace's revision (0123456789)"} {
		if !strings.Contains(md, want) {
			t.Errorf("hover lacks %q:\n%s", want, md)
		}
	}
	for v, want := range map[float64]string{0.25: "0.25", 3.44: "3.4", 42: "42", 1234: "1.2k", 3.5e6: "3.5M"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q", v, got)
		}
	}
}

// A Prometheus that answers something else, fails, or does not answer in
// time: an unreachable status that says why, never a hang.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		h         http.HandlerFunc
	}{
		{"not JSON", "not its API's JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }},
		{"an error", "bad query", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"error","error":"bad query"}`))
		}},
		{"slow", "did not answer in time", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			p := NewPoller(nil)
			start := time.Now()
			snap := p.read(context.Background(), Config{URL: srv.URL, Timeout: 300 * time.Millisecond}.withDefaults())
			if snap.Status != StatusUnreachable || !strings.Contains(snap.Err, tc.why) {
				t.Errorf("status %q err %q", snap.Status, snap.Err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	p := NewPoller(nil)
	if s := p.read(context.Background(), Config{URL: "http://127.0.0.1:1", Timeout: time.Second}.withDefaults()); s.Status != StatusUnreachable || !strings.Contains(s.Err, "127.0.0.1:1") {
		t.Errorf("nothing listening: %+v", s)
	}
}

// Configure starts and stops polling; an empty URL is off.
func TestConfigure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer srv.Close()
	changed := make(chan struct{}, 16)
	p := NewPoller(func() { changed <- struct{}{} })
	defer p.Close()
	if p.Snapshot().Status != StatusOff {
		t.Fatal("not off at first")
	}
	p.Configure(Config{URL: srv.URL})
	<-changed
	if s := p.Snapshot(); s.Status != StatusNoData {
		t.Errorf("status %q, want no data", s.Status)
	}
	p.Configure(Config{})
	if s := p.Snapshot(); s.Status != StatusOff {
		t.Errorf("status %q after turning off", s.Status)
	}
}
