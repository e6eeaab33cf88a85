package cacheruntime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/cachelens/cachelens/cacheruntime/internal/runfile"
	"github.com/cachelens/cachelens/internal/modroot"
	"github.com/cachelens/cachelens/wire"
)

// A Reporter makes what the caches of this process do visible to cachelens
// language servers. The caches count in the Reporter's run file: a small
// file in the per-user runs directory (in memory, on tmpfs), mapped into
// the process and read by servers while the process runs and after it
// ends — however it ends: by returning from main, os.Exit, a panic, a
// signal or SIGKILL. Every call is counted the moment it happens, with no
// Flush and no message per call, so reporting costs a call what an atomic
// counter costs, and never blocks or fails the program.
//
// The Reporter's own goroutine does the rest, rarely: it records the
// content hash of each source file its caches name (so the editor can tell
// whether annotations describe the code it shows), removes the run files of
// processes that ended long ago, and tells running servers whose workspace
// holds the program's source where its run file is.
//
// Programs normally use the process-wide reporter, which starts with the
// first cache and is configured by the environment: CACHELENS=off turns
// it off (no file, no goroutine), CACHELENS_SOCKET=path names a server's
// socket, CACHELENS_RUNS=dir names the runs directory, and
// CACHELENS_DEBUG=1 logs what the reporter does to stderr.
type Reporter struct {
	socket   string
	dir      string
	interval time.Duration
	debug    bool
	fault    bool // testing: every cycle panics

	run *runfile.File

	mu     sync.Mutex
	caches []weak.Pointer[cache]

	start   sync.Once
	kick    chan chan struct{}
	closing chan struct{}
	done    chan struct{}

	// owned by the loop goroutine
	conns        map[string]net.Conn
	closed       chan string
	lastDiscover time.Time
	hello        wire.Hello
	prog         programInfo
	cleaned      bool

	srcMu   sync.Mutex
	sources map[string]bool // files whose hash is recorded

	connected atomic.Int32
}

// ReporterOptions configures NewReporter.
type ReporterOptions struct {
	// Socket is a server's socket. Empty: discover servers in Dir.
	Socket string
	// Dir is where servers register; empty means wire.RuntimeDir().
	Dir string
	// Runs is the directory of run files; empty means wire.RunsDir().
	Runs string
	// Interval between the reporter's rounds; 0 means 100ms.
	Interval time.Duration
}

const (
	discoverEvery = 2 * time.Second
	dialTimeout   = 250 * time.Millisecond
	writeTimeout  = 250 * time.Millisecond
)

// NewReporter returns a reporter with a run file of its own. Pass it to a
// cache with WithReporter. Tests use it to report to a private server.
func NewReporter(o ReporterOptions) *Reporter {
	r := &Reporter{
		socket:   o.Socket,
		dir:      o.Dir,
		interval: o.Interval,
		kick:     make(chan chan struct{}),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		conns:    map[string]net.Conn{},
		closed:   make(chan string, 16),
		sources:  map[string]bool{},
		debug:    os.Getenv("CACHELENS_DEBUG") != "",
	}
	if r.dir == "" {
		r.dir = wire.RuntimeDir()
	}
	if r.interval <= 0 {
		r.interval = 100 * time.Millisecond
	}
	runs := o.Runs
	if runs == "" {
		runs = wire.RunsDir()
	}
	run, err := runfile.Open(runs)
	switch {
	case err != nil:
		run = runfile.InHeap(fmt.Sprintf("no run file in %s: %v", runs, err))
		r.logf("counting in process memory only: %s", run.Note())
	case run.Note() != "":
		r.logf("counting in %s: %s", run.Path(), run.Note())
	default:
		r.logf("counting in %s", run.Path())
	}
	r.run = run
	r.prog = currentProgram()
	programRecord(run, r.prog)
	return r
}

var (
	defaultOnce sync.Once
	defaultRep  *Reporter
)

// defaultReporter returns the process-wide reporter, or nil when reporting
// is turned off with CACHELENS=off.
func defaultReporter() *Reporter {
	defaultOnce.Do(func() {
		if v := strings.ToLower(os.Getenv(wire.EnvOff)); v == "off" || v == "0" || v == "false" {
			return
		}
		defaultRep = NewReporter(ReporterOptions{Socket: os.Getenv(wire.EnvSocket)})
	})
	return defaultRep
}

// Flush is no longer needed: every call is counted in the run file as it
// happens, and a language server reads the counts even after the process
// has ended. Flush makes the process-wide reporter look for language
// servers started since it last looked and record the source files of new
// caches now, waiting for that at most a second. It does nothing when
// reporting is off.
func Flush() {
	if r := defaultReporter(); r != nil {
		r.Flush()
	}
}

// Flush runs one round of the reporter's work now (see the package-level
// Flush) and waits for it, at most a second.
func (r *Reporter) Flush() {
	r.mu.Lock()
	started := len(r.caches) > 0
	r.mu.Unlock()
	if !started {
		return
	}
	done := make(chan struct{})
	select {
	case r.kick <- done:
	case <-r.done:
		return
	case <-time.After(time.Second):
		return
	}
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// Close stops the reporter's goroutine and closes its connections. The
// run file stays: the caches keep counting in it, and servers read it.
func (r *Reporter) Close() error {
	r.start.Do(func() { close(r.done) }) // never started
	select {
	case <-r.closing:
	default:
		close(r.closing)
	}
	<-r.done
	return nil
}

// Connected returns the number of servers the reporter is connected to.
func (r *Reporter) Connected() int { return int(r.connected.Load()) }

// Dropped returns the number of events (distinct miss reasons, hash errors,
// mutations) that found no room in the run file, which holds at most
// wire.RunMaxSize bytes. Calls are counted regardless.
func (r *Reporter) Dropped() int64 {
	return r.run.DroppedCount()
}

// RunFile returns the path of the reporter's run file, or "" when the
// caches count in process memory only.
func (r *Reporter) RunFile() string {
	if r.run.Shared() {
		return r.run.Path()
	}
	return ""
}

// RunFileNote says why the reporter has no run file, or why it is not in
// the usual directory ("" when it is).
func (r *Reporter) RunFileNote() string { return r.run.Note() }

func (r *Reporter) register(c *cache) {
	r.mu.Lock()
	r.caches = append(r.caches, weak.Make(c))
	r.mu.Unlock()
	r.start.Do(func() { go r.loop() })
}

func (r *Reporter) logf(format string, args ...any) {
	if r.debug {
		fmt.Fprintf(os.Stderr, "cachelens reporter: "+format+"\n", args...)
	}
}

// live returns the caches that still exist.
func (r *Reporter) live() []*cache {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*cache, 0, len(r.caches))
	keep := r.caches[:0]
	for _, w := range r.caches {
		if c := w.Value(); c != nil {
			out = append(out, c)
			keep = append(keep, w)
		}
	}
	clear(r.caches[len(keep):])
	r.caches = keep
	return out
}

func (r *Reporter) loop() {
	defer close(r.done)
	r.hello = r.makeHello()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	r.cycle(true)
	for {
		select {
		case <-t.C:
			r.cycle(false)
		case path := <-r.closed:
			if c, ok := r.conns[path]; ok {
				c.Close()
				delete(r.conns, path)
				r.connected.Store(int32(len(r.conns)))
				r.logf("%s closed the connection", path)
			}
		case done := <-r.kick:
			r.cycle(true)
			close(done)
		case <-r.closing:
			for _, c := range r.conns {
				c.Close()
			}
			r.connected.Store(0)
			return
		}
	}
}

// cycle records new source files, cleans the runs directory once, and
// connects to new servers when it is time to look. A fault inside it is
// logged; it never stops the program.
func (r *Reporter) cycle(force bool) {
	defer func() {
		if v := recover(); v != nil {
			r.logf("internal error while reporting: %v", v)
		}
	}()
	if r.fault {
		panic("injected fault: report")
	}
	caches := r.live()
	if len(caches) == 0 {
		return
	}
	if !r.cleaned && r.run.Shared() {
		r.cleaned = true
		r.clean()
	}
	if force || len(r.conns) == 0 && time.Since(r.lastDiscover) >= discoverEvery || time.Since(r.lastDiscover) >= 5*discoverEvery {
		r.discover(caches)
	}
}

// programInfo is what the process knows about itself.
type programInfo struct {
	exe, path, module, version, goVersion, dir string
	vcs, revision, vcsTime                     string
	modified, trimpath, goBuild                bool
	exeMtime                                   time.Time
	modRoot                                    string // for -trimpath builds: the module's directory, if found
}

func currentProgram() programInfo {
	p := programInfo{goVersion: runtime.Version()}
	p.exe, _ = os.Executable()
	if fi, err := os.Stat(p.exe); err == nil {
		p.exeMtime = fi.ModTime()
	}
	p.dir, _ = os.Getwd()
	if bi, ok := debug.ReadBuildInfo(); ok {
		p.path, p.module, p.version = bi.Path, bi.Main.Path, bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs":
				p.vcs = s.Value
			case "vcs.revision":
				p.revision = s.Value
			case "vcs.time":
				p.vcsTime = s.Value
			case "vcs.modified":
				p.modified = s.Value == "true"
			case "-trimpath":
				p.trimpath = s.Value == "true"
			}
		}
	}
	// go run and go test build the executable for this run, under a
	// go-build work directory, and rebuild whenever a source changed: the
	// sources on disk now are what it was built from.
	p.goBuild = strings.Contains(filepath.ToSlash(p.exe), "/go-build")
	if p.trimpath && p.module != "" {
		p.modRoot = modroot.Of(p.dir, p.module)
	}
	return p
}

// built reports whether a source file modified at mtime is what the
// executable was built from: go run and go test build for each run, and
// otherwise the file must not be newer than the executable.
func (p programInfo) built(mtime time.Time) bool {
	return p.goBuild || !p.exeMtime.IsZero() && !mtime.After(p.exeMtime)
}

// sourcePath returns where a file named in the binary is on disk: itself,
// or for a -trimpath build's module-relative path, under the module root.
func (p programInfo) sourcePath(file string) (string, bool) {
	if filepath.IsAbs(file) {
		return file, true
	}
	if p.modRoot != "" && p.module != "" {
		if rest, ok := strings.CutPrefix(file, p.module+"/"); ok {
			return filepath.Join(p.modRoot, filepath.FromSlash(rest)), true
		}
	}
	return "", false
}

// maxSourceSize bounds the source files hashed.
const maxSourceSize = 8 << 20

// noteFile records the content hash of a source file a cache's definition
// or call site is in, once per file: the editor compares it with what it
// shows to tell whether annotations describe older code. It runs when the
// cache is made and at the first call from a new file, so even a program
// that exits at once leaves the hashes behind.
func (r *Reporter) noteFile(file string) {
	if r == nil || !r.run.Shared() || file == "" || file == "?" {
		return
	}
	r.srcMu.Lock()
	defer r.srcMu.Unlock()
	if r.sources[file] {
		return
	}
	r.sources[file] = true
	r.recordSource(file)
}

func (r *Reporter) recordSource(file string) {
	path, ok := r.prog.sourcePath(file)
	if !ok {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSourceSize {
		return
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxSourceSize)); err != nil {
		return
	}
	var sum [32]byte
	h.Sum(sum[:0])
	// The hash is of the content the executable was built from when go run
	// or go test built it for this run, or when the file has not changed
	// since the executable was written.
	verified := r.prog.built(fi.ModTime())
	sourceRecord(r.run, file, sum, fi.Size(), fi.ModTime(), verified)
}

// clean removes the run files of processes that ended long ago.
func (r *Reporter) clean() {
	d, err := wire.OpenDir(filepath.Dir(r.run.Path()), false, false)
	if err != nil {
		return
	}
	defer d.Close()
	if n, err := cleanRuns(d.Root(), time.Now()); n > 0 || err != nil {
		r.logf("removed %d run files of processes that ended (%v)", n, err)
	}
}

func (r *Reporter) makeHello() wire.Hello {
	h := wire.Hello{Proto: wire.Version, PID: os.Getpid(), Program: r.prog.exe, Module: r.prog.module, GoVersion: r.prog.goVersion,
		Start: r.run.Start(), Dir: r.prog.dir, RunID: runID(r.run)}
	if r.run.Shared() {
		h.Run = r.run.Path()
		h.FD = true
	}
	return h
}

// discover connects to the explicit socket or to every registered server
// whose workspace root contains one of the program's cached functions (in
// the runtime directory and any private fallback beside it).
func (r *Reporter) discover(caches []*cache) {
	r.lastDiscover = time.Now()
	type target struct {
		dir    *wire.Dir
		socket string
	}
	var targets []target
	if r.socket != "" {
		targets = []target{{nil, r.socket}}
	} else {
		dirs := wire.Dirs(r.dir)
		defer func() {
			for _, d := range dirs {
				d.Close()
			}
		}()
		if len(dirs) == 0 {
			r.logf("no usable runtime directory at %s (or beside it)", r.dir)
		}
		for _, d := range dirs {
			regs, _, err := d.Registrations()
			if err != nil && len(regs) == 0 {
				r.logf("discovery in %s: %v", d.Path, err)
			}
			for _, reg := range regs {
				matched := false
				for _, c := range caches {
					file := c.file
					if p, ok := r.prog.sourcePath(file); ok {
						file = p
					}
					if wire.Contains(reg.Root, file) {
						targets = append(targets, target{d, reg.Socket})
						matched = true
						break
					}
				}
				if !matched && r.debug {
					r.logf("server %s (root %s) holds none of this program's caches (first: %s)", reg.Socket, reg.Root, caches[0].file)
				}
			}
		}
	}
	for _, tg := range targets {
		if _, ok := r.conns[tg.socket]; ok {
			continue
		}
		conn, err := r.dial(tg.dir, tg.socket)
		if err != nil {
			r.logf("connecting to %s: %v", tg.socket, err)
			continue
		}
		r.logf("connected to %s", tg.socket)
		r.conns[tg.socket] = conn
		path := tg.socket
		go func() {
			// The server never writes; a read returns when it goes away.
			io.Copy(io.Discard, conn)
			select {
			case r.closed <- path:
			default:
			}
		}()
	}
	r.connected.Store(int32(len(r.conns)))
}

// dial connects to the server at socket (through the directory d it is
// registered in, when there is one), checks that it runs as this user,
// and sends the hello (with the run file's descriptor when there is one).
func (r *Reporter) dial(d *wire.Dir, socket string) (net.Conn, error) {
	var c net.Conn
	var err error
	if d != nil {
		c, err = d.Dial(socket, dialTimeout)
	} else {
		c, err = net.DialTimeout("unix", socket, dialTimeout)
	}
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UnixConn)
	if err := checkPeer(uc); err != nil {
		c.Close()
		return nil, err
	}
	frame, err := wire.AppendFrame(nil, &r.hello)
	if err != nil {
		c.Close()
		return nil, err
	}
	var oob []byte
	if r.hello.FD {
		oob = fileRights(r.run.OSFile())
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, _, err := uc.WriteMsgUnix(frame, oob, nil); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// runID is the run's identity as the hello message carries it.
func runID(f *runfile.File) string {
	id := f.ID()
	return hex.EncodeToString(id[:])
}
