// Package observe runs a Go program under the language server's own
// collector and store, and reports what an editor would show in a source
// file after the run: code lenses, inlay hints, and the diagnostics the
// running program gave rise to with the fixes on offer.
//
// It is the engine of `cachelens demo` (cmd/cachelens), which prints the
// result to a terminal instead of sending it to an editor. It is not a
// stable API: the server's packages under server/internal are what it is
// made of.
package observe

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/cachelens/cachelens/server/internal/annotate"
	"github.com/cachelens/cachelens/server/internal/collector"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/wire"
)

// Note is one annotation on a line: a code lens's or an inlay hint's text.
type Note struct {
	Line int // 1-based
	Text string
}

// Diagnostic is a diagnostic the running program gave rise to.
type Diagnostic struct {
	Line    int // 1-based
	Code    string
	Message string
	Fixes   []string // the titles of the quick fixes offered for it
}

// File is what an editor shows in one source file after the run.
type File struct {
	Text        []byte // the file as it was read
	Lenses      []Note // in line order
	Hints       []Note // in line order
	Diagnostics []Diagnostic
}

// Observation holds what the collector received from one run of a program.
type Observation struct {
	st *store.Store
}

// Run runs cmd (not yet started) with a collector listening on a socket in
// dir, which must exist and should be private to the caller, and returns
// the program's combined output and what it reported. Run returns when the
// program has exited and the collector has seen its connection end (its
// final counts are in), or after a few seconds if they never arrive.
func Run(cmd *exec.Cmd, dir string) (*Observation, []byte, error) {
	st := store.New()
	runs := filepath.Join(dir, "runs")
	coll, err := collector.Listen(collector.Config{Socket: filepath.Join(dir, "s.sock"), Runs: runs, Store: st})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the collector: %w", err)
	}
	defer coll.Close()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, wire.EnvSocket+"="+coll.Socket(), wire.EnvRuns+"="+runs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, out, fmt.Errorf("running %s: %w", filepath.Base(cmd.Path), err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		snap := st.Snapshot()
		if len(snap.Processes) > 0 && !slices.ContainsFunc(snap.Processes, func(p store.Process) bool { return p.Connected }) {
			break
		}
	}
	return &Observation{st: st}, out, nil
}

// File returns what an editor shows in the Go source file at path (read
// from disk) after the run.
func (o *Observation) File(path string) File {
	pl := annotate.New(nil).Place(o.st.Snapshot(), path)
	text := pl.Text
	doc := document.New("", path, 0, text)
	lineAt := func(off int) int { return doc.Position(off, document.UTF8).Line + 1 }
	f := File{Text: text}
	for _, l := range pl.Lenses() {
		i := slices.IndexFunc(pl.Defs, func(pd annotate.PlacedDef) bool { return pd.Def.Key == l.Def })
		if i < 0 {
			continue
		}
		f.Lenses = append(f.Lenses, Note{Line: lineAt(l.Offset), Text: annotate.LensTitle(pl.Defs[i].Def, l.Stale)})
	}
	for _, h := range pl.Hints(0, len(text)) {
		f.Hints = append(f.Hints, Note{Line: lineAt(h.Offset), Text: h.Label})
	}
	actions := pl.RuntimeActions(0, len(text))
	for _, rd := range pl.RuntimeDiagnostics() {
		d := Diagnostic{Line: lineAt(rd.Start), Code: rd.Code, Message: rd.Message}
		for _, a := range actions {
			if a.Code == rd.Code {
				d.Fixes = append(d.Fixes, a.Title)
			}
		}
		f.Diagnostics = append(f.Diagnostics, d)
	}
	byLine := func(a, b Note) int { return a.Line - b.Line }
	slices.SortStableFunc(f.Lenses, byLine)
	slices.SortStableFunc(f.Hints, byLine)
	return f
}
