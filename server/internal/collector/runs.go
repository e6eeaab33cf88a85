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

	"github.com/cachelens/cachelens/server/internal/store"
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
	limit    *logLimit // for messages many runs or files could repeat
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
	dirErr  string   // why the runs directory cannot be used, for the status
	ignored []string // files this scan skipped, and why
}

// The directory is scanned every fastScan while it holds few files, so a
// program that ended before it connected is seen within a fraction of a
// second, and every slowScan when it holds many.
const (
	fastScan  = 100 * time.Millisecond
	slowScan  = 2 * time.Second
	manyFiles = 256
)

// maxIgnoredLogged bounds the files one scan says it ignored.
const maxIgnoredLogged = 8

// stamp identifies a version of a directory entry.
type stamp struct {
	size  int64
	mtime time.Time
}

// watched is a run file being read. Its reads are serialized (rd): a
// read that saw the program running must not reach the store after the
// final read that saw it end, or the store would show the run running
// forever.
type watched struct {
	rd    sync.Mutex // held while reading; guards ended, buf, fails, warn, full
	id    [16]byte
	next  time.Time // not before (guarded by the watcher's mu): runs of no workspace are read once a second
	name  string    // its name in the runs directory, if found there
	f     *os.File  // read with ReadAt; nil once final
	conn  bool      // its descriptor came over a connection, whose end is the run's end
	ended bool
	buf   []byte
	fails int
	warn  bool // said once why its caches are in no workspace
	full  bool // said once that its file is full
}

func newWatcher(dir string, st *store.Store, logf func(string, ...any), interval time.Duration) *watcher {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	return &watcher{dir: dir, store: st, logf: logf, limit: newLogLimit(logf), interval: interval, scanned: fastScan,
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
	if r == nil {
		r = &watched{id: id}
		w.runs[id] = r
	}
	w.mu.Unlock()
	r.rd.Lock()
	w.mu.Lock()
	if r.f != nil {
		// Found in the directory first: the connection takes over.
		r.f.Close()
	}
	r.f, r.conn, r.ended = f, true, false
	if other := w.runs[id]; other != nil && other != r && other.f != nil {
		other.f.Close() // a second connection with the same id replaced it
		other.f = nil
	}
	w.runs[id] = r // again, if a final read removed it meanwhile
	w.mu.Unlock()
	r.rd.Unlock()
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
	r.rd.Lock()
	r.ended = true
	r.rd.Unlock()
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
	// The directory (created if missing) and the private fallbacks beside
	// it, where programs go when someone else took the directory.
	std, err := wire.OpenDir(w.dir, true, false)
	dirs := wire.Dirs(w.dir)
	if std != nil {
		std.Close()
	}
	w.mu.Lock()
	switch {
	case err != nil && len(dirs) == 0:
		if w.dirErr == "" {
			w.logf("cannot read run files in %s: %v (runs are seen only while their programs are connected)", w.dir, err)
		}
		w.dirErr = err.Error()
	case err != nil:
		if w.dirErr == "" {
			w.logf("%s cannot be used (%v); reading the private directories beside it", w.dir, err)
		}
		w.dirErr = err.Error() + " (reading the private directories beside it)"
	default:
		w.dirErr = ""
	}
	w.mu.Unlock()
	total := 0
	names := map[string]bool{}
	for _, d := range dirs {
		total += w.scanDir(d, names)
		if n, _ := wire.CleanRuns(d.Root(), time.Now(), nil); n > 0 {
			w.limit.printf("removed", "removed %d run files of programs that ended (a runs directory keeps them for %v, at most %d files and %d MiB)", n, wire.RunRetention, wire.RunMaxFiles, wire.RunMaxBytes>>20)
		}
		d.Close()
	}
	// Files that are not run files are said once each, a few per scan, so
	// that a directory full of junk cannot flood the log.
	for i, why := range w.ignored {
		if i == maxIgnoredLogged {
			w.limit.printf("ignored more", "ignoring %d more files that are not run files", len(w.ignored)-i)
			break
		}
		w.limit.printf("ignored", "ignoring run file %s", why)
	}
	w.ignored = w.ignored[:0]
	if total > manyFiles {
		w.scanned = slowScan
	} else {
		w.scanned = fastScan
	}
	w.mu.Lock()
	for name := range w.skipped {
		if !names[name] {
			delete(w.skipped, name)
		}
	}
	w.mu.Unlock()
}

// scanDir opens the new run files of d, records the names seen, and
// returns how many entries it looked at.
func (w *watcher) scanDir(d *wire.Dir, names map[string]bool) int {
	root := d.Root()
	dir, err := root.Open(".")
	if err != nil {
		return 0
	}
	entries, _ := dir.ReadDir(wire.RunScanLimit)
	dir.Close()
	for _, e := range entries {
		name := e.Name()
		if _, _, ok := wire.ParseRunFileName(name); !ok {
			continue
		}
		key := filepath.Join(d.Path, name)
		names[key] = true
		info, err := e.Info()
		if err != nil {
			continue
		}
		st := stamp{info.Size(), info.ModTime()}
		w.mu.Lock()
		old, skip := w.skipped[key]
		known := w.knownName(key)
		w.mu.Unlock()
		if known || skip && old == st {
			continue
		}
		w.open(root, name, key, st)
	}
	return len(entries)
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

// open starts reading the run file name (whose path is key), found in a
// runs directory, if it is a safe, well-formed run file of a run not read
// yet.
func (w *watcher) open(root *os.Root, name, key string, st stamp) {
	skip := func(why string, args ...any) {
		w.mu.Lock()
		w.skipped[key] = st
		w.mu.Unlock()
		if why != "" {
			w.ignored = append(w.ignored, fmt.Sprintf("%s: "+why, append([]any{name}, args...)...))
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
		// A program creates its run file, locks it, sizes it and then
		// writes the header through its mapping, which need not change the
		// file's time: a file caught in between is looked at again at the
		// next scan rather than skipped while unchanged.
		alive := wire.RunAlive(f)
		f.Close()
		switch {
		case alive:
		case n == 0:
			skip("") // just created; its size will change
		default:
			skip("%v", err)
		}
		return
	}
	w.mu.Lock()
	if r := w.runs[h.ID]; r != nil {
		// Known (it connected, or is final): remember its name only.
		if r.name == "" {
			r.name = key
		}
		w.mu.Unlock()
		f.Close()
		return
	}
	r := &watched{id: h.ID, name: key, f: f}
	w.runs[h.ID] = r
	w.mu.Unlock()
	w.read(r)
}

// read reads r's file, gives the store its state, and, when the run has
// ended, its final state.
func (w *watcher) read(r *watched) {
	r.rd.Lock()
	defer r.rd.Unlock()
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
		if run.Full && !r.full {
			r.full = true
			w.logf("run %d: its run file is full (%d MiB): %d events and any cache or call site made later are counted by the program but not shown", run.PID, wire.RunMaxSize>>20, run.Dropped)
		}
		// A large file is read less often: about 10 MB/s at most.
		next := time.Now().Add(min(time.Second, time.Duration(len(r.buf)/(1<<20))*100*time.Millisecond))
		if w.relevant(run, r) {
			w.store.UpdateRun(run, !ended)
		} else {
			next = time.Now().Add(time.Second)
		}
		w.mu.Lock()
		r.next = next
		w.mu.Unlock()
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

// readRun copies the run file f into *buf (reused between reads, sized to
// the file) and parses it. It reads at most wire.RunMaxSize bytes.
func readRun(f *os.File, buf *[]byte) (*wire.Run, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := int(min(fi.Size(), wire.RunMaxSize))
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	n, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	*buf = b[:n]
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
		w.limit.printf("not shown", "not showing %s: %s", prog, why)
	}
	return false
}

// status returns why the runs directory cannot be used, or "".
func (w *watcher) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirErr
}
