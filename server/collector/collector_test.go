package collector_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/server/collector"
	"github.com/cachelens/cachelens/server/store"
	"github.com/cachelens/cachelens/wire"
)

// shortDir returns a temporary directory with a path short enough for a
// Unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "cl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func listen(t *testing.T, cfg collector.Config) (*collector.Collector, *store.Store, *logBuf) {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = store.New()
	}
	lb := &logBuf{}
	cfg.Logf = lb.logf
	c, err := collector.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cfg.Store, lb
}

// waitFor polls the store until cond holds.
func waitFor(t *testing.T, s *store.Store, what string, cond func(*store.Snapshot) bool) *store.Snapshot {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap := s.Snapshot()
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; store has %s", what, describe(snap))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func describe(s *store.Snapshot) string {
	var b strings.Builder
	for _, d := range s.Defs {
		fmt.Fprintf(&b, "\n  %s:%d %s: %d hits %d misses %d uncached", filepath.Base(d.Key.File), d.Key.Line, d.Name, d.Hits, d.Misses, d.Uncached)
		for _, st := range d.Sites {
			fmt.Fprintf(&b, "\n    %s:%d %d/%d/%d", filepath.Base(st.Key.File), st.Key.Line, st.Hits, st.Misses, st.Uncached)
		}
	}
	return b.String()
}

func thisLine() int {
	_, _, l, _ := runtime.Caller(1)
	return l
}

func siteCounts(d *store.Def, line int) (hits, misses int64) {
	for _, s := range d.Sites {
		if s.Key.Line == line {
			return s.Hits, s.Misses
		}
	}
	return -1, -1
}

// TestInProcess: a reporter and a collector in one process, exact counts
// per site.
func TestInProcess(t *testing.T) {
	dir := shortDir(t)
	c, s, _ := listen(t, collector.Config{Socket: filepath.Join(dir, "s.sock")})
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket()})
	defer rep.Close()
	double := cacheruntime.Func1(func(x int) int { return 2 * x }, cacheruntime.WithReporter(rep))
	defLine := thisLine() - 1
	lineA := thisLine() + 2
	for i := range 10 {
		double(i % 3) // 3 misses, 7 hits
	}
	lineB := thisLine() + 1
	double(1) // 1 hit
	rep.Flush()
	_, file, _, _ := runtime.Caller(0)
	snap := waitFor(t, s, "counts", func(s *store.Snapshot) bool {
		d := s.Def(file, defLine)
		return d != nil && d.Hits == 8 && d.Misses == 3
	})
	d := snap.Def(file, defLine)
	if h, m := siteCounts(d, lineA); h != 7 || m != 3 {
		t.Errorf("site A: %d hits %d misses", h, m)
	}
	if h, m := siteCounts(d, lineB); h != 1 || m != 0 {
		t.Errorf("site B: %d hits %d misses", h, m)
	}
	if len(snap.Processes) != 1 || snap.Processes[0].Key.PID != os.Getpid() || !snap.Processes[0].Connected {
		t.Errorf("processes %+v", snap.Processes)
	}
	for _, st := range d.Sites {
		if st.Key.Line == lineA && (len(st.Reasons) == 0 || st.Reasons[0].Kind != "first") {
			t.Errorf("reasons %+v", st.Reasons)
		}
	}
	if rep.Connected() != 1 {
		t.Errorf("connected to %d servers", rep.Connected())
	}
}

// TestDiscovery: without a socket name, the program finds the server
// registered for the workspace that contains its source.
func TestDiscovery(t *testing.T) {
	rt := shortDir(t)
	_, file, _, _ := runtime.Caller(0)
	_, s, _ := listen(t, collector.Config{Dir: rt, Roots: []string{filepath.Dir(file)}})
	// A second server for an unrelated root must not receive anything.
	other, _, _ := listen(t, collector.Config{Dir: rt, Socket: "", Roots: []string{shortDir(t)}, Store: store.New()})
	_ = other
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Dir: rt})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	f(1)
	rep.Flush()
	waitFor(t, s, "a def with 1 hit", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 1 })
	if rep.Connected() != 1 {
		t.Errorf("connected to %d servers, want 1", rep.Connected())
	}
	regs, _, err := wire.Registrations(rt)
	if err != nil || len(regs) != 2 {
		t.Fatalf("registrations %+v %v", regs, err)
	}
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestGoRun runs the example program with `go run`, reporting to a
// collector in the test, and checks the store's count at every call site
// against what the program itself printed.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := shortDir(t)
	c, s, _ := listen(t, collector.Config{Socket: filepath.Join(dir, "s.sock")})
	root := moduleRoot(t)
	cmd := exec.Command("go", "run", "./testdata/catalog")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), wire.EnvSocket+"="+c.Socket())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	// The program prints "line N  H hits  M misses" per site.
	re := regexp.MustCompile(`(?m)^\s+line (\d+)\s+(\d+) hits\s+(\d+) misses`)
	want := map[int][2]int64{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		l, _ := strconv.Atoi(m[1])
		h, _ := strconv.ParseInt(m[2], 10, 64)
		mi, _ := strconv.ParseInt(m[3], 10, 64)
		want[l] = [2]int64{h, mi}
	}
	if len(want) < 6 {
		t.Fatalf("program printed %d sites:\n%s", len(want), out)
	}
	main := filepath.Join(root, "testdata", "catalog", "main.go")
	snap := waitFor(t, s, "every site", func(snap *store.Snapshot) bool {
		n := 0
		for _, si := range snap.SitesIn(main) {
			if w, ok := want[si.Site.Key.Line]; ok && w[0] == si.Site.Hits && w[1] == si.Site.Misses {
				n++
			}
		}
		return n == len(want)
	})
	var hashErrs, muts int
	for _, d := range snap.DefsIn(main) {
		hashErrs += len(d.HashErrs)
		muts += len(d.MutationLog)
	}
	if hashErrs != 1 || muts != 1 {
		t.Errorf("hash errors %d, mutations %d; program printed:\n%s", hashErrs, muts, out)
	}
	if len(snap.Processes) != 1 || snap.Processes[0].Module != "github.com/cachelens/cachelens" || snap.Processes[0].Built.IsZero() {
		t.Errorf("process %+v", snap.Processes)
	}
}

// TestRestart: the server goes away mid-stream and comes back on the same
// socket; the reporter reconnects and the new server gets full totals.
func TestRestart(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "s.sock")
	c1, s1, _ := listen(t, collector.Config{Socket: sock})
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: sock, Interval: 10 * time.Millisecond})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	stop := make(chan struct{})
	var calls sync.WaitGroup
	calls.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f(i % 50)
		}
	})
	waitFor(t, s1, "first counts", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits > 100 })
	c1.Close()
	time.Sleep(50 * time.Millisecond)
	_, s2, _ := listen(t, collector.Config{Socket: sock})
	close(stop)
	calls.Wait()
	rep.Flush()
	snap := waitFor(t, s2, "totals after the restart", func(s *store.Snapshot) bool {
		return len(s.Defs) == 1 && s.Defs[0].Misses == 50 && s.Defs[0].Hits > 100
	})
	if snap.Defs[0].Misses != 50 {
		t.Fatalf("misses %d", snap.Defs[0].Misses)
	}
}

// TestSlowServer: a server that accepts and never reads costs the program
// nothing but dropped reports.
func TestSlowServer(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "hole.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never read
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: sock, Interval: 5 * time.Millisecond})
	defer rep.Close()
	// Large definitions fill the socket buffer quickly.
	var fs []func(int) int
	for i := range 8 {
		fs = append(fs, cacheruntime.Func1(func(x int) int { return x + i }, cacheruntime.WithReporter(rep),
			cacheruntime.Name(strings.Repeat("n", 200<<10)+strconv.Itoa(i))))
	}
	var slowest time.Duration
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		t0 := time.Now()
		fs[i%len(fs)](i % 1000)
		if d := time.Since(t0); d > slowest {
			slowest = d
		}
	}
	t0 := time.Now()
	rep.Flush()
	if d := time.Since(t0); d > 2500*time.Millisecond {
		t.Errorf("Flush took %v", d)
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("slowest call %v: the program waited for the server", slowest)
	}
	if rep.Dropped() == 0 {
		t.Errorf("no frames dropped although the server never reads")
	}
	t.Logf("slowest call %v, %d frames dropped", slowest, rep.Dropped())
}

// TestOtherUID: a peer of another uid is refused, by the socket's mode and,
// where the mode is loosened, by its credentials.
func TestOtherUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	python := "/usr/bin/python3" // not a per-user shim the other user cannot run
	if _, err := os.Stat(python); err != nil {
		t.Skip("needs /usr/bin/python3 to play the other user's program")
	}
	dir := shortDir(t)
	sock := filepath.Join(dir, "s.sock")
	c, s, logs := listen(t, collector.Config{Socket: sock})
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	frame, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: 1, Start: time.Now()})
	// The server may close the connection before the hello is sent:
	// that is the refusal, so a broken pipe is fine.
	script := fmt.Sprintf("import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect(%q)\ntry:\n  s.sendall(bytes.fromhex(%q))\nexcept BrokenPipeError:\n  pass\ns.close()\n", sock, fmt.Sprintf("%x", frame))
	asNobody := func() ([]byte, error) {
		cmd := exec.Command(python, "-c", script)
		cmd.SysProcAttr = nobody()
		return cmd.CombinedOutput()
	}
	// 1. The directory and socket modes keep the other user out.
	if out, err := asNobody(); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("another user connected through a 0700 directory: %v\n%s", err, out)
	}
	// 2. With the modes loosened, the credentials check refuses it.
	os.Chmod(dir, 0o755)
	os.Chmod(sock, 0o666)
	if out, err := asNobody(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, rejected, _, _ := c.Counters(); rejected == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not refused; log:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(s.Snapshot().Processes) != 0 {
		t.Error("the other user's hello reached the store")
	}
	if !strings.Contains(logs.String(), "refused a connection from uid 65534") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestMalformed: bad input on one connection is logged and does not
// disturb the others.
func TestMalformed(t *testing.T) {
	dir := shortDir(t)
	c, s, logs := listen(t, collector.Config{Socket: filepath.Join(dir, "s.sock"), MaxFrame: 4096})
	hello := func(pid int) []byte {
		b, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: pid, Start: time.Unix(int64(pid), 0)})
		return b
	}
	def, _ := wire.AppendFrame(nil, &wire.Def{ID: 1, File: "/w/a.go", Line: 3, Name: "f"})
	bad := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := func(n uint32, v, typ byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), v, typ) }
	streams := map[string][]byte{
		"oversized":          bad(hello(76), hdr(1<<20, 1, 4)),
		"unknown version":    bad(hdr(4, 7, 1), []byte("{}")),
		"no hello":           def,
		"garbage":            []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"malformed then ok":  bad(hello(77), hdr(7, 1, 4), []byte("{bad}"), def),
		"unknown type":       bad(hello(78), hdr(4, 1, 200), []byte("{}"), def),
		"truncated in frame": bad(hello(79), hdr(100, 1, 4), []byte("{")),
	}
	for name, data := range streams {
		conn, err := net.Dial("unix", c.Socket())
		if err != nil {
			t.Fatal(name, err)
		}
		conn.Write(data)
		conn.Close()
	}
	// A well-behaved program still gets through.
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket()})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	rep.Flush()
	waitFor(t, s, "the good program", func(s *store.Snapshot) bool {
		for _, d := range s.Defs {
			if d.Misses == 1 && d.Key.File != "/w/a.go" {
				return true
			}
		}
		return false
	})
	waitFor(t, s, "the stream that recovered", func(s *store.Snapshot) bool {
		d := s.Def("/w/a.go", 3)
		return d != nil && len(d.Processes) == 2
	})
	log := logs.String()
	for _, want := range []string{"frame too large", "unsupported protocol version: 7", "did not start with a hello", "malformed message", "unknown message type 200", "truncated stats frame"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestStaleCleanup: registrations and sockets of servers that are gone are
// removed; the socket and directory have the right modes; Close cleans up.
func TestStaleCleanup(t *testing.T) {
	rt := shortDir(t)
	deadPID := 1 << 30
	staleSock := filepath.Join(rt, fmt.Sprintf("server-%d-1.sock", deadPID))
	ln, err := net.Listen("unix", staleSock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	stale, err := wire.Register(rt, wire.Registration{Root: "/gone", Socket: staleSock, PID: deadPID})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := listen(t, collector.Config{Dir: rt, Roots: []string{"/w"}})
	for _, p := range []string{stale, staleSock} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists", p)
		}
	}
	regs, files, _ := wire.Registrations(rt)
	if len(regs) != 1 || regs[0].Root != "/w" || regs[0].Socket != c.Socket() {
		t.Fatalf("registrations %+v", regs)
	}
	if fi, _ := os.Stat(c.Socket()); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	if err := c.SetRoots([]string{"/w", "/v"}); err != nil {
		t.Fatal(err)
	}
	if regs, _, _ := wire.Registrations(rt); len(regs) != 2 {
		t.Fatalf("registrations after SetRoots %+v", regs)
	}
	c.Close()
	if _, err := os.Stat(c.Socket()); !os.IsNotExist(err) {
		t.Error("socket left behind")
	}
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Error("registration left behind")
	}
	// A directory others can enter is refused.
	loose := shortDir(t)
	os.Chmod(loose, 0o755)
	if _, err := collector.Listen(collector.Config{Dir: loose, Store: store.New()}); err == nil || !strings.Contains(err.Error(), "0700") {
		t.Fatalf("Listen in a 0755 directory: %v", err)
	}
}

// TestManyProcesses: 100 programs report at once; no count is lost.
func TestManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100 processes")
	}
	dir := shortDir(t)
	bin := filepath.Join(dir, "loadgen")
	build := exec.Command("go", "build", "-o", bin, "./testdata/loadgen")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	c, s, logs := listen(t, collector.Config{Socket: filepath.Join(dir, "s.sock")})
	const procs, calls = 100, 1000
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(bin, "-calls", strconv.Itoa(calls))
			cmd.Env = append(os.Environ(), wire.EnvSocket+"="+c.Socket())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				errs <- fmt.Errorf("%v: %s", err, stderr.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap := waitFor(t, s, "all counts", func(s *store.Snapshot) bool {
		var hits, misses int64
		for _, d := range s.Defs {
			hits += d.Hits
			misses += d.Misses
		}
		return hits+misses == 2*procs*calls
	})
	byName := map[string]*store.Def{}
	for _, d := range snap.Defs {
		byName[d.Name] = d
	}
	if len(snap.Processes) != procs {
		t.Errorf("%d processes reported", len(snap.Processes))
	}
	sq, cu := byName["main.init.func1"], byName["main.init.func2"]
	if sq == nil || cu == nil {
		t.Fatalf("defs %s", describe(snap))
	}
	if sq.Hits != procs*(calls-10) || sq.Misses != procs*10 || cu.Hits != procs*(calls-5) || cu.Misses != procs*5 {
		t.Fatalf("totals %s\nlog:\n%s", describe(snap), logs)
	}
}
