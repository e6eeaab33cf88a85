package lsp

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cachelens/cachelens/server/internal/anchor"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/prod"
	"go.lsp.dev/protocol"
)

// PrometheusSettings say where production metrics are (the cachelens
// exporter's series in the team's Prometheus).
type PrometheusSettings struct {
	URL      string `json:"url"`      // the Prometheus HTTP API, e.g. http://prometheus:9090; empty: off
	Matchers string `json:"matchers"` // label matchers for every query, e.g. job="shop"
	Window   string `json:"window"`   // the production line's window, a Go duration (default 24h)
}

// configureProduction (re)starts reading Prometheus for the settings.
func (s *Server) configureProduction(ps PrometheusSettings) {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return
	}
	window, err := time.ParseDuration(ps.Window)
	if ps.Window != "" && (err != nil || window <= 0) {
		s.logf("prometheus.window %q is not a duration such as 24h: using 24h", ps.Window)
		window = 0
	}
	s.prod.Configure(prod.Config{URL: ps.URL, Matchers: ps.Matchers, Window: window})
}

// productionChanged runs after each refresh of the production data, on
// the poller's goroutine.
func (s *Server) productionChanged() {
	s.readRevision()
	snap := s.prod.Snapshot()
	s.mu.Lock()
	last := s.prodStatus
	s.prodStatus = snap.Status + snap.Err
	s.mu.Unlock()
	if last != snap.Status+snap.Err && snap.Status == prod.StatusUnreachable {
		s.logf("production metrics: %s (the production line is hidden until it answers)", snap.Err)
	}
	s.refresh()
	s.republishAll()
	s.sendStatus()
}

// prodDefs returns the production series of the cached functions defined
// in the document d, with where each definition is.
func (s *Server) prodDefs(path string, text []byte) []prodDef {
	snap := s.prod.Snapshot()
	if snap.Status != prod.StatusOK {
		return nil
	}
	var ix *anchor.Index
	var out []prodDef
	for _, x := range snap.Series {
		if snap.Lookup(path, x.Line) != x {
			continue
		}
		if ix == nil {
			ix = s.ann.Files.Defs(path, text)
		}
		if def, ok := ix.DefAt(x.Line); ok {
			out = append(out, prodDef{def, x})
		}
	}
	return out
}

type prodDef struct {
	at anchor.Def
	x  *prod.Series
}

// prodLenses are the production lines of a document's cached functions.
func (s *Server) prodLenses(d *document.Document) []codeLens {
	if !s.currentSettings().ProductionLine {
		return nil
	}
	snap := s.prod.Snapshot()
	rev := s.workspaceRevision()
	enc := s.encoding()
	var out []codeLens
	for _, pd := range s.prodDefs(d.Path, d.Text) {
		line := d.Position(pd.at.Decl.Start, enc).Line
		out = append(out, codeLens{
			Range:   lspRange{position{line, 0}, position{line, 0}},
			Command: &protocol.Command{Title: pd.x.LensTitle(snap.Window, rev), Command: CommandDetails, Arguments: []any{d.Path, pd.at.Call.StartLine}},
		})
	}
	return out
}

// prodHover is the production section for the definition at offset.
func (s *Server) prodHover(d *document.Document, off int) (md string, start, end int, ok bool) {
	if !s.currentSettings().ProductionLine {
		return "", 0, 0, false
	}
	snap := s.prod.Snapshot()
	for _, pd := range s.prodDefs(d.Path, d.Text) {
		a := pd.at
		if off >= a.Decl.Start && off <= a.Decl.End || off >= a.Call.Start && off <= a.Call.End {
			return pd.x.Hover(snap.Window, s.workspaceRevision()), a.Decl.Start, a.Decl.End, true
		}
	}
	return "", 0, 0, false
}

// prodDiagnostics are production mutations and hash errors, at the
// cached function's definition in the file at path.
func (s *Server) prodDiagnostics(path string) []lspDiagnostic {
	if !s.currentSettings().RuntimeDiagnostics {
		return nil
	}
	snap := s.prod.Snapshot()
	if snap.Status != prod.StatusOK {
		return nil
	}
	text, _, ok := s.ann.Files.Current(path)
	if !ok {
		return nil
	}
	d := document.New(string(fileURI(path)), path, 0, text)
	enc := s.encoding()
	var out []lspDiagnostic
	for _, pd := range s.prodDefs(path, text) {
		r := toRange(d, pd.at.Call.Start, pd.at.Call.End, enc)
		if m := int64(pd.x.Mutations + 0.5); m > 0 {
			out = append(out, lspDiagnostic{Range: r, Severity: 2, Code: "production-mutation", Source: "cachelens",
				Message: pluralf(m, "%s: a caller changed its cached result %d time in production in the last %s (each recomputed); see the hover", "%s: callers changed its cached result %d times in production in the last %s (each recomputed); see the hover", pd.x.Cache, m, snap.Window)})
		}
		if e := int64(pd.x.HashErrs + 0.5); e > 0 {
			out = append(out, lspDiagnostic{Range: r, Severity: 2, Code: "production-hasherr", Source: "cachelens",
				Message: pluralf(e, "%s: %d call's arguments could not be hashed in production in the last %s (it ran uncached)", "%s: %d calls' arguments could not be hashed in production in the last %s (they ran uncached)", pd.x.Cache, e, snap.Window)})
		}
	}
	return out
}

func pluralf(n int64, one, many string, args ...any) string {
	if n == 1 {
		return fmt.Sprintf(one, args...)
	}
	return fmt.Sprintf(many, args...)
}

// openPaths lists the open documents.
func (s *Server) openPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.docs))
	for p := range s.docs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// workspaceRevision is the git revision of the first workspace root as
// last read by readRevision ("" when it is not a git checkout): handlers
// never run git themselves.
func (s *Server) workspaceRevision() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// readRevision reads the workspace's git revision, at most once a minute;
// it runs with each refresh of the production data, off the request path.
func (s *Server) readRevision() {
	s.mu.Lock()
	roots := slices.Clone(s.roots)
	at := s.revAt
	s.mu.Unlock()
	if len(roots) == 0 || time.Since(at) < time.Minute {
		return
	}
	rev := ""
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = filepath.Clean(roots[0])
	if out, err := cmd.Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	s.mu.Lock()
	s.rev, s.revAt = rev, time.Now()
	s.mu.Unlock()
}
