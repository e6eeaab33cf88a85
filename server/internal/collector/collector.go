// Package collector brings what programs using cacheruntime count into the
// insight store. The counts are in each program's run file (wire/run.go),
// which the collector reads — from the per-user runs directory, where it
// finds programs that run or ran while no server was there, and through
// the descriptor a program hands over when it connects. The collector
// listens on a local Unix socket in a directory only the user can enter,
// accepts only peers with its own uid, and registers itself per workspace
// root so programs find it without configuration; a connection tells it
// at once that a program started, and its end that the program ended.
//
// It serves the language server only and is not a stable API.
package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/wire"
)

// socketSeq numbers the sockets of collectors in one process.
var socketSeq atomic.Int64

// Config configures a Collector.
type Config struct {
	// Socket is the path to listen on. Empty: a socket in Dir named after
	// this process (or $CACHELENS_SOCKET if set).
	Socket string
	// Dir is the runtime directory where servers register; empty means
	// wire.RuntimeDir().
	Dir string
	// Roots are the workspace roots to register for.
	Roots []string
	// Store receives the data. Required.
	Store *store.Store
	// Logf receives one line per notable event (rejected peers, bad
	// frames). Nil discards them.
	Logf func(format string, args ...any)
	// MaxFrame limits frame size; 0 means DefaultMaxFrame.
	MaxFrame int
	// MaxConns limits the connections open at once; 0 means
	// DefaultMaxConns. Beyond it new connections are closed at once.
	MaxConns int
	// UID is the only peer uid accepted; nil means os.Getuid().
	UID *int
	// Runs is the directory of run files; empty means wire.RunsDir().
	Runs string
	// Interval is how often running programs' counts are read; 0 means
	// 100ms.
	Interval time.Duration
	// Modules returns the workspace's modules (module path → directory),
	// to place the module-relative paths of -trimpath builds. Nil: such
	// builds are not placed.
	Modules func() map[string]string
}

// Collector is a listening collector.
type Collector struct {
	cfg    Config
	ln     *net.UnixListener
	socket string
	uid    int
	owned  bool // the socket file is ours to remove

	mu    sync.Mutex
	dir   *wire.Dir         // the runtime directory (nil on an explicit socket)
	note  string            // why it is a fallback directory
	regs  map[string]string // root → registration file name in dir
	roots []string
	conns map[*net.UnixConn]struct{}
	freed chan struct{} // a connection ended (buffered, never blocks)
	limit *logLimit     // for messages a flood could repeat
	runs  *watcher
	done  chan struct{}
	wg    sync.WaitGroup

	statsMu  sync.Mutex
	accepted int
	rejected int
	frames   int64
	nbad     int64
}

// Listen creates the socket, removes stale registrations of servers that
// are gone, registers cfg.Roots and starts accepting connections.
func Listen(cfg Config) (*Collector, error) {
	if cfg.Store == nil {
		return nil, errors.New("collector: no store")
	}
	if cfg.Dir == "" {
		cfg.Dir = wire.RuntimeDir()
	}
	if cfg.Socket == "" {
		cfg.Socket = os.Getenv(wire.EnvSocket)
	}
	if cfg.Runs == "" {
		cfg.Runs = wire.RunsDir()
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	c := &Collector{cfg: cfg, regs: map[string]string{}, conns: map[*net.UnixConn]struct{}{}, freed: make(chan struct{}, 1), done: make(chan struct{}), uid: os.Getuid(), roots: slices.Clone(cfg.Roots)}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	c.limit = newLogLimit(logf)
	c.runs = newWatcher(cfg.Runs, cfg.Store, logf, cfg.Interval)
	c.runs.limit = c.limit
	c.runs.modules = cfg.Modules
	c.runs.roots = func() []string {
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.Clone(c.roots)
	}
	if cfg.UID != nil {
		c.uid = *cfg.UID
	}
	bind := ""
	if cfg.Socket == "" {
		d, err := wire.OpenDir(cfg.Dir, true, true)
		if err != nil {
			return nil, fmt.Errorf("collector: runtime directory: %w", err)
		}
		if d.Fallback {
			c.note = d.Note + " (programs find this server there too)"
			logf("%s", c.note)
		}
		c.dir = d
		c.cleanStale()
		name := fmt.Sprintf("server-%d-%d.sock", os.Getpid(), socketSeq.Add(1))
		c.socket = filepath.Join(d.Path, name)
		bind = d.SocketPath(name)
		if err := removeStale(fileOps{lstat: d.Root().Lstat, remove: d.Root().Remove}, name, d.SocketPath(name)); err != nil {
			d.Close()
			return nil, err
		}
	} else {
		c.socket = cfg.Socket
		bind = cfg.Socket
		if err := os.MkdirAll(filepath.Dir(c.socket), 0o700); err != nil {
			return nil, fmt.Errorf("collector: %w", err)
		}
		if err := removeStale(plainFiles, c.socket, c.socket); err != nil {
			return nil, err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: bind, Net: "unix"})
	if err != nil {
		c.closeDir()
		return nil, fmt.Errorf("collector: listening on %s: %w", c.socket, err)
	}
	ln.SetUnlinkOnClose(false)
	c.ln, c.owned = ln, true
	if err := c.chmodSocket(); err != nil {
		ln.Close()
		c.removeSocket()
		c.closeDir()
		return nil, fmt.Errorf("collector: %w", err)
	}
	if cfg.Socket == "" {
		if err := c.SetRoots(cfg.Roots); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.wg.Add(1)
	go c.accept()
	c.runs.start()
	return c, nil
}

// fileOps are the file operations removeStale needs: through the runtime
// directory's os.Root, or on plain paths for an explicit socket.
type fileOps struct {
	lstat  func(name string) (os.FileInfo, error)
	remove func(name string) error
}

var plainFiles = fileOps{lstat: os.Lstat, remove: os.Remove}

// removeStale removes the socket name if nobody listens on it any more
// (dial is the path to dial it by).
func removeStale(ops fileOps, name, dial string) error {
	fi, err := ops.lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("collector: %s exists and is not a socket", name)
	}
	if conn, err := net.DialTimeout("unix", dial, 200*time.Millisecond); err == nil {
		conn.Close()
		return fmt.Errorf("collector: another server is listening on %s", name)
	}
	return ops.remove(name)
}

func (c *Collector) chmodSocket() error {
	if c.dir != nil {
		return c.dir.Root().Chmod(filepath.Base(c.socket), 0o600)
	}
	return os.Chmod(c.socket, 0o600)
}

func (c *Collector) removeSocket() {
	if c.dir != nil {
		c.dir.Root().Remove(filepath.Base(c.socket))
		return
	}
	os.Remove(c.socket)
}

func (c *Collector) closeDir() {
	if c.dir != nil {
		c.dir.Close()
	}
}

// cleanStale removes the registrations and sockets of servers that no
// longer run.
func (c *Collector) cleanStale() {
	root := c.dir.Root()
	regs, names, _ := c.dir.Registrations()
	for i, r := range regs {
		if !alive(r.PID) {
			root.Remove(names[i])
			if filepath.Dir(r.Socket) == filepath.Clean(c.dir.Path) {
				root.Remove(filepath.Base(r.Socket))
			}
			c.logf("removed the registration of a server that is gone (pid %d, root %s)", r.PID, r.Root)
		}
	}
	entries, _ := c.dir.ReadDirNames(wire.RunScanLimit)
	for _, name := range entries {
		if rest, ok := strings.CutPrefix(name, "server-"); ok && strings.HasSuffix(name, ".sock") {
			pidStr, _, _ := strings.Cut(strings.TrimSuffix(rest, ".sock"), "-")
			if pid, err := strconv.Atoi(pidStr); err == nil && !alive(pid) {
				root.Remove(name)
			}
		}
	}
}

// Note says why the collector registered in a fallback directory, or "".
func (c *Collector) Note() string { return c.note }

// Problem says what keeps programs' counts from reaching this server in
// the usual way — a runtime or runs directory someone else took — or "".
func (c *Collector) Problem() string {
	return strings.Join(slices.DeleteFunc([]string{c.note, c.runs.status()}, func(s string) bool { return s == "" }), "; ")
}

// Socket returns the path the collector listens on.
func (c *Collector) Socket() string { return c.socket }

// SetRoots registers the collector for exactly these workspace roots.
// It does nothing for a collector on an explicit socket, which programs
// find through CACHELENS_SOCKET.
func (c *Collector) SetRoots(roots []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roots = slices.Clone(roots)
	if c.cfg.Socket != "" {
		return nil
	}
	var errs []error
	for root, file := range c.regs {
		if !slices.Contains(roots, root) {
			c.dir.Root().Remove(file)
			delete(c.regs, root)
		}
	}
	for _, root := range roots {
		if _, ok := c.regs[root]; ok {
			continue
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file, err := c.dir.Register(wire.Registration{Root: abs, Socket: c.socket, PID: os.Getpid(), Started: time.Now()})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.regs[root] = file
	}
	return errors.Join(errs...)
}

// Close stops accepting, closes every connection and removes the socket
// and the registrations.
func (c *Collector) Close() error {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return nil
	default:
	}
	close(c.done)
	for conn := range c.conns {
		conn.Close()
	}
	for root, file := range c.regs {
		c.dir.Root().Remove(file)
		delete(c.regs, root)
	}
	c.mu.Unlock()
	err := c.ln.Close()
	c.wg.Wait()
	c.runs.close()
	if c.owned {
		c.removeSocket()
	}
	c.closeDir()
	return err
}

// Counters reports accepted and rejected connections, frames read and
// frames rejected.
func (c *Collector) Counters() (accepted, rejected int, frames, bad int64) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.accepted, c.rejected, c.frames, c.nbad
}

func (c *Collector) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
}

func (c *Collector) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.AcceptUnix()
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			c.logf("accept on %s: %v", c.socket, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		uid, err := peerUID(conn)
		if err != nil || uid != c.uid {
			c.statsMu.Lock()
			c.rejected++
			c.statsMu.Unlock()
			if err != nil {
				c.limit.printf("refused", "refused a connection: %v", err)
			} else {
				c.limit.printf("refused", "refused a connection from uid %d (only uid %d may report)", uid, c.uid)
			}
			conn.Close()
			continue
		}
		c.mu.Lock()
		select {
		case <-c.done:
			c.mu.Unlock()
			conn.Close()
			return
		default:
		}
		if len(c.conns) >= c.cfg.MaxConns {
			// Wait a little for a connection to end before refusing: an
			// honest program queued behind a flood still gets in when
			// silent connections time out, and a flood is refused at a
			// rate that costs little.
			c.mu.Unlock()
			select {
			case <-c.freed:
			case <-time.After(fullWait):
			case <-c.done:
				conn.Close()
				return
			}
			c.mu.Lock()
		}
		if len(c.conns) >= c.cfg.MaxConns {
			c.mu.Unlock()
			c.statsMu.Lock()
			c.rejected++
			n := c.rejected
			c.statsMu.Unlock()
			c.limit.printf("full", "refused a connection: %d are open, the most allowed (%d refused so far)", c.cfg.MaxConns, n)
			conn.Close()
			continue
		}
		c.conns[conn] = struct{}{}
		c.mu.Unlock()
		c.statsMu.Lock()
		c.accepted++
		c.statsMu.Unlock()
		c.wg.Add(1)
		go c.serve(conn)
	}
}

// Bounds on what connections may cost. A connection says hello — a frame
// of a few hundred bytes — and then stays open, silent, while its program
// runs: so a frame is small, a hello must come soon, and what a program
// sends after it is discarded up to a limit.
const (
	DefaultMaxFrame = 64 << 10
	DefaultMaxConns = 512
	helloTimeout    = 5 * time.Second
	fullWait        = 20 * time.Millisecond // for a free slot, before refusing a connection
	maxAfterHello   = 4 << 10
)

// serve reads a program's hello — with its run file's descriptor, when it
// sends one — hands the run file to the watcher, and waits for the
// connection to end, which is when the program has ended.
func (c *Collector) serve(conn *net.UnixConn) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
		conn.Close()
		select {
		case c.freed <- struct{}{}:
		default:
		}
	}()
	conn.SetReadDeadline(time.Now().Add(helloTimeout))
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	fds := receivedFDs(oob[:oobn])
	closeFDs := func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}
	if err != nil {
		closeFDs()
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			c.bad("closing a connection: %v", err)
		}
		return
	}
	r := wire.NewReader(io.MultiReader(bytes.NewReader(buf[:n]), conn), c.cfg.MaxFrame)
	f, err := r.Next()
	if err != nil {
		closeFDs()
		c.bad("closing a connection: %v", err)
		return
	}
	c.statsMu.Lock()
	c.frames++
	c.statsMu.Unlock()
	msg, err := wire.Decode(f)
	h, ok := msg.(*wire.Hello)
	if err != nil || !ok {
		closeFDs()
		if err == nil {
			err = fmt.Errorf("got %s", f.Type)
		}
		c.bad("closing a connection that did not start with a hello: %v", err)
		return
	}
	if h.Proto != wire.Version {
		closeFDs()
		c.bad("closing the connection from pid %d: protocol %d, want %d (programs and cachelens must be built from the same version)", h.PID, h.Proto, wire.Version)
		return
	}
	who := fmt.Sprintf("%s (pid %d)", filepath.Base(h.Program), h.PID)
	if err := c.attach(h, fds); err != nil {
		c.limit.printf("attach", "cannot read the counts of %s: %v", who, err)
	}
	conn.SetReadDeadline(time.Time{})
	// Nothing else is expected; the connection's end is the run's end.
	// Whatever comes is discarded, up to a limit.
	if n, err := io.CopyN(io.Discard, conn, maxAfterHello+1); n > maxAfterHello && err == nil {
		c.bad("closing the connection from %s: it sent more than %d bytes after its hello", who, maxAfterHello)
	}
	c.runs.detach(h.RunID)
}

// receivedFDs returns the descriptors passed in oob.
func receivedFDs(oob []byte) []int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if got, err := syscall.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// attach gives the watcher the run file of the program that said h: the
// descriptor it passed, or else the file it names in the runs directory.
func (c *Collector) attach(h *wire.Hello, fds []int) error {
	if _, err := parseRunID(h.RunID); err != nil {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return err
	}
	for _, fd := range fds[min(1, len(fds)):] {
		syscall.Close(fd)
	}
	if h.FD && len(fds) > 0 {
		f := os.NewFile(uintptr(fds[0]), "run file of pid "+fmt.Sprint(h.PID))
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = errors.New("the descriptor passed is not a regular file")
		}
		if err == nil && fi.Size() > wire.RunMaxSize {
			err = fmt.Errorf("the run file passed has %d bytes, more than a run file holds", fi.Size())
		}
		if err != nil {
			f.Close()
			return err
		}
		return c.runs.attach(h, f)
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
	for _, d := range wire.Dirs(c.runs.dir) {
		inDir := h.Run != "" && filepath.Dir(h.Run) == filepath.Clean(d.Path)
		var f *os.File
		var err error
		if inDir {
			f, err = wire.OpenRunFile(d.Root(), filepath.Base(h.Run))
		}
		d.Close()
		if inDir {
			if err != nil {
				return err
			}
			return c.runs.attach(h, f)
		}
	}
	return fmt.Errorf("its run file %q is not in the runs directory %s", h.Run, c.runs.dir)
}

// bad counts a connection closed for what it sent and logs why (limited:
// a flood of bad connections must not flood the log).
func (c *Collector) bad(format string, args ...any) {
	c.statsMu.Lock()
	c.nbad++
	c.statsMu.Unlock()
	c.limit.printf("bad", format, args...)
}
