// Package workspace keeps the static checks of the editor's workspace up
// to date: it loads each module once (reporting progress), then re-checks
// only the packages an edit affects, in a background goroutine, and hands
// the findings to a callback. Nothing here blocks the language server's
// request handlers.
//
// It serves the language server only and is not a stable API.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachelens/cachelens/diagnostics/driver"
	"golang.org/x/tools/go/analysis"

	"github.com/cachelens/cachelens/server/internal/srcfile"
)

// Findings is one consistent view of the static checks.
type Findings struct {
	Seq    uint64
	ByFile map[string][]driver.Finding
	// Texts holds, for files that were open in the editor, the text the
	// findings' offsets refer to (other files: the disk).
	Texts map[string][]byte
	// Errors are package load and type errors (gopls shows those; they are
	// here for logging) and analyzer failures.
	Errors []error
}

// Progress reports a long operation (a workspace load).
type Progress interface {
	Begin(title, message string)
	Report(message string, percent int)
	End(message string)
}

// Config configures a Workspace.
type Config struct {
	Analyzers []*analysis.Analyzer
	// Requires limits the packages checked (see driver.Config.Requires).
	Requires []string
	// OnFindings is called, from the workspace's goroutine, after every
	// load and re-check.
	OnFindings func(*Findings)
	Progress   Progress
	Logf       func(format string, args ...any)
	// Debounce is how long to wait for more edits before re-checking.
	Debounce time.Duration
}

// Workspace is the analysis state of the editor's folders.
type Workspace struct {
	cfg Config

	mu      sync.Mutex
	roots   []string
	overlay map[string][]byte
	pending map[string][]byte // changed since the last check
	reload  bool
	last    time.Time
	wake    chan struct{}
	idle    *sync.Cond
	busy    bool
	closed  bool
	cancel  context.CancelFunc
	stopped chan struct{} // closed when the worker has returned

	// owned by the worker
	progs map[string]*driver.Program // by module directory
	seq   uint64
}

// New starts a workspace with no folders.
func New(cfg Config) *Workspace {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	w := &Workspace{cfg: cfg, overlay: map[string][]byte{}, pending: map[string][]byte{}, wake: make(chan struct{}, 1), progs: map[string]*driver.Program{}}
	w.idle = sync.NewCond(&w.mu)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.stopped = make(chan struct{})
	go func() {
		defer close(w.stopped)
		w.loop(ctx)
	}()
	return w
}

// SetRoots sets the workspace folders and reloads everything.
func (w *Workspace) SetRoots(roots []string) {
	w.mu.Lock()
	w.roots = slices.Clone(roots)
	w.reload = true
	w.mu.Unlock()
	w.poke()
}

// Reload loads everything again (go list), e.g. after files were created.
func (w *Workspace) Reload() {
	w.mu.Lock()
	w.reload = true
	w.mu.Unlock()
	w.poke()
}

// Change records an editor buffer's new contents.
func (w *Workspace) Change(path string, text []byte) {
	w.mu.Lock()
	w.overlay[path] = text
	w.pending[path] = text
	w.last = time.Now()
	w.mu.Unlock()
	w.poke()
}

// Closed records that the editor closed a buffer: the file on disk counts
// again.
func (w *Workspace) Closed(path string) {
	text, err := srcfile.Read(path)
	w.mu.Lock()
	delete(w.overlay, path)
	if err == nil {
		w.pending[path] = text
	}
	w.last = time.Now()
	w.mu.Unlock()
	w.poke()
}

func (w *Workspace) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Wait blocks until the workspace has nothing left to do (for tests and
// benchmarks).
func (w *Workspace) Wait() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.closed && (w.busy || w.reload || len(w.pending) > 0) {
		w.idle.Wait()
	}
}

// Close stops the workspace and waits for its worker: a load under way
// is cancelled (go list is killed), and nothing runs or logs afterwards.
func (w *Workspace) Close() {
	w.mu.Lock()
	w.closed = true
	w.idle.Broadcast()
	w.mu.Unlock()
	w.cancel()
	<-w.stopped
}

func (w *Workspace) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		// Let a burst of keystrokes settle.
		for {
			w.mu.Lock()
			since := time.Since(w.last)
			w.mu.Unlock()
			if since >= w.cfg.Debounce {
				break
			}
			time.Sleep(w.cfg.Debounce - since)
		}
		w.mu.Lock()
		reload, roots, overlay := w.reload, slices.Clone(w.roots), maps.Clone(w.overlay)
		pending := w.pending
		w.pending = map[string][]byte{}
		w.reload = false
		w.busy = true
		w.mu.Unlock()

		var f *Findings
		if reload {
			f = w.load(ctx, roots, overlay)
		} else if len(pending) > 0 {
			f = w.update(pending, overlay)
		}
		if f != nil && w.cfg.OnFindings != nil {
			w.cfg.OnFindings(f)
		}
		w.mu.Lock()
		w.busy = false
		w.idle.Broadcast()
		again := w.reload || len(w.pending) > 0
		w.mu.Unlock()
		if again {
			w.poke()
		}
	}
}

// modules returns the module directories to load for the roots: a root
// inside a module is loaded as it is; a root containing several modules
// loads each.
func modules(roots []string) []string {
	var out []string
	for _, root := range roots {
		if inModule(root) {
			out = append(out, root)
			continue
		}
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "vendor" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if strings.Count(strings.TrimPrefix(path, root), string(filepath.Separator)) > 4 {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

func inModule(dir string) bool {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

func (w *Workspace) load(ctx context.Context, roots []string, overlay map[string][]byte) *Findings {
	mods := modules(roots)
	if len(mods) == 0 && len(roots) > 0 && w.cfg.Logf != nil {
		w.cfg.Logf("no Go module (go.mod) in or above the workspace roots %v: the static checks need one (go mod init), so there are no diagnostics", roots)
	}
	p := w.cfg.Progress
	if p != nil {
		p.Begin("cachelens", fmt.Sprintf("loading %d %s", len(mods), pluralize(len(mods), "module", "modules")))
	}
	progs := map[string]*driver.Program{}
	var errs []error
	for i, dir := range mods {
		if p != nil {
			p.Report("loading "+dir, 100*i/max(1, len(mods)))
		}
		t0 := time.Now()
		prog, err := driver.Load(ctx, driver.Config{Dir: dir, Tests: true, Overlay: overlay, Requires: w.cfg.Requires})
		if err != nil {
			// go/packages reports a cancelled go list as text, not as
			// a wrapped context.Canceled.
			if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				errs = append(errs, fmt.Errorf("loading %s: %w", dir, err))
				w.cfg.Logf("loading %s: %v", dir, err)
			}
			continue
		}
		w.cfg.Logf("loaded %s: %d packages in %v", dir, len(prog.Packages), time.Since(t0).Round(time.Millisecond))
		progs[dir] = prog
	}
	w.progs = progs
	f := w.collect(func(prog *driver.Program) driver.Result { return prog.Run(w.cfg.Analyzers) }, overlay)
	f.Errors = append(errs, f.Errors...)
	if p != nil {
		p.End(fmt.Sprintf("checked %d %s", len(progs), pluralize(len(progs), "module", "modules")))
	}
	return f
}

func (w *Workspace) update(changed, overlay map[string][]byte) *Findings {
	needReload := false
	f := w.collect(func(prog *driver.Program) driver.Result {
		mine := map[string][]byte{}
		for path, text := range changed {
			if prog.Owns(path) {
				mine[path] = text
			}
		}
		if len(mine) == 0 {
			return prog.Findings() // unchanged
		}
		res, _, unknown := prog.Update(mine, w.cfg.Analyzers)
		if len(unknown) > 0 {
			needReload = true
		}
		return res
	}, overlay)
	// A changed file no loaded package knows about (a new file or
	// package): load again to pick it up.
	for path := range changed {
		known := false
		for _, prog := range w.progs {
			if prog.Owns(path) {
				known = true
			}
		}
		if !known && strings.HasSuffix(path, ".go") {
			for _, dir := range modules(w.rootsCopy()) {
				if within(dir, path) {
					needReload = true
				}
			}
		}
	}
	if needReload {
		w.mu.Lock()
		w.reload = true
		w.mu.Unlock()
	}
	return f
}

func (w *Workspace) rootsCopy() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.roots)
}

func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// collect runs f on every program and gathers the findings by file.
func (w *Workspace) collect(f func(*driver.Program) driver.Result, overlay map[string][]byte) *Findings {
	w.seq++
	out := &Findings{Seq: w.seq, ByFile: map[string][]driver.Finding{}, Texts: map[string][]byte{}}
	for _, dir := range slices.Sorted(maps.Keys(w.progs)) {
		res := f(w.progs[dir])
		for _, fd := range res.Findings {
			out.ByFile[fd.Pos.Filename] = append(out.ByFile[fd.Pos.Filename], fd)
		}
		out.Errors = append(out.Errors, res.Errors...)
	}
	for path := range out.ByFile {
		if text, ok := overlay[path]; ok {
			out.Texts[path] = text
		}
	}
	return out
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
