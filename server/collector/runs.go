package collector

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cachelens/cachelens/server/store"
	"github.com/cachelens/cachelens/wire"
)

// A watcher reads run files into the store: those in the runs directory
// (programs that run or ran while this server was not there, or that never
// connected) and those whose descriptor a connecting program handed over.
// It reads each running program's file every interval, and a program's
// file once more when it has ended, so the store ends with its final
// counts however the program ended.
type watcher struct {
	dir      string
	store    *store.Store
	logf     func(string, ...any)
	interval time.Duration
	scanned  time.Duration // how often the directory is scanned
	roots    func() []string
	modules  func() map[string]string // workspace module path → directory

	mu      sync.Mutex
	runs    map[[16]byte]*watched
	skipped map[string]stamp // directory entries not to look at again while unchanged
	done    chan struct{}
	wg      sync.WaitGroup
	lastDir time.Time
	dirErr  string // why the runs directory cannot be used, for the status
}

// The directory is scanned every fastScan while it holds few files, so a
// program that ended before it connected is seen within a fraction of a
// second, and every slowScan when it holds many.
const (
	fastScan  = 100 * time.Millisecond
	slowScan  = 2 * time.Second
	manyFiles = 256
)

// stamp identifies a version of a directory entry.
type stamp struct {
	size  int64
	mtime time.Time
}

// watched is a run file being read.
type watched struct {
	id    [16]byte
	next  time.Time // not before: runs of no workspace are read once a second
	name  string    // its name in the runs directory, if found there
	f     *os.File  // read with ReadAt; nil once final
	conn  bool      // its descriptor came over a connection, whose end is the run's end
	ended bool
	buf   []byte
	fails int
	warn  bool // said once why its caches are in no workspace
}

func newWatcher(dir string, st *store.Store, logf func(string, ...any), interval time.Duration) *watcher {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	return &watcher{dir: dir, store: st, logf: logf, interval: interval, scanned: fastScan,
		runs: map[[16]byte]*watched{}, skipped: map[string]stamp{}, done: make(chan struct{})}
}

func (w *watcher) start() {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(w.interval)
		defer t.Stop()
		w.scan()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.round()
			}
		}
	}()
}

func (w *watcher) close() {
	close(w.done)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.runs {
		if r.f != nil {
			r.f.Close()
		}
	}
}

// round reads every running program's file, and scans the directory
// when it is time.
func (w *watcher) round() {
	if time.Since(w.lastDir) >= w.scanned {
		w.scan()
	}
	w.mu.Lock()
	var live []*watched
	now := time.Now()
	for _, r := range w.runs {
		if r.f != nil && !now.Before(r.next) {
			live = append(live, r)
		}
	}
	w.mu.Unlock()
	for _, r := range live {
		w.read(r)
	}
}

// attach starts reading the run file f of a program that connected (conn
// is true: the connection's end is the run's end).
func (w *watcher) attach(h *wire.Hello, f *os.File) error {
	id, err := parseRunID(h.RunID)
	if err != nil {
		f.Close()
		return err
	}
	w.mu.Lock()
	r := w.runs[id]
	if r != nil && r.f != nil && !r.conn {
		// Found in the directory first: the connection takes over.
		r.f.Close()
		r.f = nil
	}
	if r == nil {
		r = &watched{id: id}
		w.runs[id] = r
	}
	r.f, r.conn, r.ended = f, true, false
	w.mu.Unlock()
	w.read(r)
	return nil
}

// detach reads the run one last time: its program has ended (its
// connection closed).
func (w *watcher) detach(runID string) {
	id, err := parseRunID(runID)
	if err != nil {
		return
	}
	w.mu.Lock()
	r := w.runs[id]
	w.mu.Unlock()
	if r == nil || !r.conn {
		return
	}
	r.ended = true
	w.read(r)
}

func parseRunID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("bad run id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// scan looks for run files in the directory that are not being read: new
// ones, of programs that run or ran without connecting. It looks at no more
// than wire.RunScanLimit entries and opens only files whose size or time
// changed since it last skipped them, so a directory of many thousands of
// stale files costs bounded time. Files of runs that ended long ago are
// removed (wire.CleanRuns).
func (w *watcher) scan() {
	w.lastDir = time.Now()
	root, err := wire.OpenRunsDir(w.dir, true)
	if err != nil {
		w.mu.Lock()
		if w.dirErr == "" {
			w.logf("cannot read run files in %s: %v (runs are seen only while their programs are connected)", w.dir, err)
		}
		w.dirErr = err.Error()
		w.mu.Unlock()
		return
	}
	defer root.Close()
	w.mu.Lock()
	w.dirErr = ""
	w.mu.Unlock()
	d, err := root.Open(".")
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(wire.RunScanLimit)
	d.Close()
	if len(entries) > manyFiles {
		w.scanned = slowScan
	} else {
		w.scanned = fastScan
	}
	names := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if _, _, ok := wire.ParseRunFileName(name); !ok {
			continue
		}
		names[name] = true
		info, err := e.Info()
		if err != nil {
			continue
		}
		st := stamp{info.Size(), info.ModTime()}
		w.mu.Lock()
		old, skip := w.skipped[name]
		known := w.knownName(name)
		w.mu.Unlock()
		if known || skip && old == st {
			continue
		}
		w.open(root, name, st)
	}
	w.mu.Lock()
	for name := range w.skipped {
		if !names[name] {
			delete(w.skipped, name)
		}
	}
	w.mu.Unlock()
	if n, _ := wire.CleanRuns(root, time.Now(), nil); n > 0 {
		w.logf("removed %d run files of programs that ended more than %v ago", n, wire.RunRetention)
	}
}

// knownName reports whether the run in file name is being read. w.mu is
// held.
func (w *watcher) knownName(name string) bool {
	for _, r := range w.runs {
		if r.name == name {
			return true
		}
	}
	return false
}

// open starts reading the run file name, found in the directory, if it is
// a safe, well-formed run file of a run not read yet.
func (w *watcher) open(root *os.Root, name string, st stamp) {
	skip := func(why string, args ...any) {
		w.mu.Lock()
		w.skipped[name] = st
		w.mu.Unlock()
		if why != "" {
			w.logf("ignoring run file %s: "+why, append([]any{name}, args...)...)
		}
	}
	f, err := wire.OpenRunFile(root, name)
	if err != nil {
		skip("%v", err)
		return
	}
	var hdr [wire.RunHeaderSize]byte
	n, err := f.ReadAt(hdr[:], 0)
	if err != nil && n < len(hdr) && !errors.Is(err, io.EOF) {
		f.Close()
		skip("%v", err)
		return
	}
	h, err := wire.ParseRunHeader(hdr[:n])
	if err != nil {
		f.Close()
		skip("%v", err)
		return
	}
	w.mu.Lock()
	if r := w.runs[h.ID]; r != nil {
		// Known (it connected, or is final): remember its name only.
		if r.name == "" {
			r.name = name
		}
		w.mu.Unlock()
		f.Close()
		return
	}
	r := &watched{id: h.ID, name: name, f: f}
	w.runs[h.ID] = r
	w.mu.Unlock()
	w.read(r)
}

// read reads r's file, gives the store its state, and, when the run has
// ended, its final state.
func (w *watcher) read(r *watched) {
	w.mu.Lock()
	f := r.f
	w.mu.Unlock()
	if f == nil {
		return
	}
	ended := r.ended
	if !r.conn && !ended {
		ended = !wire.RunAlive(f)
	}
	run, err := readRun(f, &r.buf)
	if err != nil && run == nil {
		r.fails++
		if r.fails == 1 || r.fails%100 == 0 {
			w.logf("reading a run file: %v", err)
		}
		if r.fails < 50 && !ended {
			return
		}
		ended = true
	}
	if run != nil {
		w.mapPaths(run)
		if w.relevant(run, r) {
			w.store.UpdateRun(run, !ended)
			r.next = time.Time{}
		} else {
			r.next = time.Now().Add(time.Second)
		}
	}
	if ended {
		// Final: forget the run, and skip its file while it is unchanged.
		w.mu.Lock()
		if r.f != nil {
			if fi, err := r.f.Stat(); err == nil && r.name != "" {
				w.skipped[r.name] = stamp{fi.Size(), fi.ModTime()}
			}
			r.f.Close()
			r.f = nil
		}
		delete(w.runs, r.id)
		w.mu.Unlock()
	}
}

// readRun copies the run file f into *buf (reused between reads) and
// parses it. It reads at most wire.RunMaxSize bytes.
func readRun(f *os.File, buf *[]byte) (*wire.Run, error) {
	if cap(*buf) < wire.RunMaxSize {
		*buf = make([]byte, wire.RunMaxSize)
	}
	b := (*buf)[:wire.RunMaxSize]
	n, err := io.ReadFull(io.NewSectionReader(f, 0, wire.RunMaxSize), b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return wire.ParseRun(b[:n])
}

// mapPaths turns the module-relative paths of a -trimpath build
// ("example.com/shop/cmd/main.go") into files of the workspace module
// with that path.
func (w *watcher) mapPaths(run *wire.Run) {
	if run.Program == nil || !run.Program.Trimpath || w.modules == nil {
		return
	}
	mods := w.modules()
	conv := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		for mod, dir := range mods {
			if rest, ok := strings.CutPrefix(p, mod+"/"); ok {
				return filepath.Join(dir, filepath.FromSlash(rest))
			}
		}
		return p
	}
	for _, d := range run.Defs {
		d.File = conv(d.File)
	}
	for _, s := range run.Sites {
		s.File = conv(s.File)
	}
	for i := range run.Sources {
		run.Sources[i].Path = conv(run.Sources[i].Path)
	}
}

// relevant reports whether one of run's caches is in a workspace root (or
// whether no root is named), and says once in the log why a run is not.
func (w *watcher) relevant(run *wire.Run, r *watched) bool {
	if w.roots == nil {
		return true
	}
	roots := w.roots()
	if len(roots) == 0 {
		return true // no workspace named: everything counts
	}
	var first string
	for _, d := range run.Defs {
		if first == "" {
			first = d.File
		}
		for _, root := range roots {
			if wire.Contains(root, d.File) {
				return true
			}
		}
	}
	if first != "" && !r.warn {
		r.warn = true
		prog := "a program"
		if run.Program != nil {
			prog = fmt.Sprintf("%s (pid %d, module %s)", filepath.Base(run.Program.Exe), run.PID, run.Program.Module)
		}
		why := fmt.Sprintf("its caches (%s, ...) are in none of the workspace roots %v", first, roots)
		if !filepath.IsAbs(first) {
			why = fmt.Sprintf("it was built with -trimpath and its module-relative paths (%s, ...) match no module of the workspace", first)
		}
		w.logf("not showing %s: %s", prog, why)
	}
	return false
}

// status returns why the runs directory cannot be used, or "".
func (w *watcher) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirErr
}
