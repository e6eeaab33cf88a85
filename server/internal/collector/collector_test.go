package collector_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/server/internal/collector"
	"github.com/cachelens/cachelens/server/internal/store"
	"github.com/cachelens/cachelens/wire"
)

// shortDir returns a private temporary directory with a path short enough
// for a Unix socket.
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

// listen starts a collector. Unless cfg says otherwise it listens on a
// socket of its own and reads run files in a runs directory of its own.
func listen(t *testing.T, cfg collector.Config) (*collector.Collector, *store.Store, *logBuf) {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = store.New()
	}
	if cfg.Runs == "" {
		cfg.Runs = filepath.Join(shortDir(t), "runs")
	}
	if cfg.Socket == "" && cfg.Dir == "" {
		cfg.Socket = filepath.Join(shortDir(t), "s.sock")
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
	deadline := time.Now().Add(15 * time.Second)
	for {
		snap := s.Snapshot()
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; store has %s\nprocesses: %+v", what, describe(snap), snap.Processes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func describe(s *store.Snapshot) string {
	var b strings.Builder
	for _, p := range s.Processes {
		fmt.Fprintf(&b, "\n  run pid %d %s live=%v shown=%v", p.Key.PID, filepath.Base(p.Program), p.Connected, p.Shown)
	}
	for _, d := range s.Defs {
		fmt.Fprintf(&b, "\n  %s:%d %s: %d hits %d misses %d uncached, %d mutations, %d hash errors", filepath.Base(d.Key.File), d.Key.Line, d.Name, d.Hits, d.Misses, d.Uncached, d.Mutations, d.HashErrors)
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

// TestInProcess: a reporter and a collector in one process: exact counts
// per site, miss reasons, and the connection marks the run as running.
func TestInProcess(t *testing.T) {
	c, s, logs := listen(t, collector.Config{})
	defer func() {
		if t.Failed() {
			t.Log(logs)
		}
	}()
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket(), Runs: shortDir(t)})
	defer rep.Close()
	double := cacheruntime.Func1(func(x int) int { return 2 * x }, cacheruntime.WithReporter(rep))
	defLine := thisLine() - 1
	lineA := thisLine() + 2
	for i := range 10 {
		double(i % 3) // 3 misses, 7 hits
	}
	lineB := thisLine() + 1
	double(1) // 1 hit
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
		if st.Key.Line == lineA && (len(st.Reasons) == 0 || st.Reasons[0].Kind != "args") {
			t.Errorf("reasons %+v", st.Reasons)
		}
	}
	if src, ok := d.Built[file]; !ok || src.Hash == ([32]byte{}) {
		t.Errorf("no source hash for %s: %+v", file, d.Built)
	}
	if rep.Connected() != 1 {
		t.Errorf("connected to %d servers", rep.Connected())
	}
}

// TestDiscovery: without a socket name, the program finds the server
// registered for the workspace that contains its source and hands it its
// run file's descriptor; a server for another root gets nothing.
func TestDiscovery(t *testing.T) {
	rt := shortDir(t)
	_, file, _, _ := runtime.Caller(0)
	runsA, runsB := shortDir(t), shortDir(t)
	_, s, _ := listen(t, collector.Config{Dir: rt, Runs: runsA, Roots: []string{filepath.Dir(file)}})
	_, other, _ := listen(t, collector.Config{Dir: rt, Runs: runsB, Roots: []string{shortDir(t)}})
	// The program's run file is in a third directory neither server scans:
	// only the descriptor it passes lets a server read it.
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Dir: rt, Runs: shortDir(t)})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	f(1)
	rep.Flush()
	waitFor(t, s, "a def with 1 hit", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 1 })
	if rep.Connected() != 1 {
		t.Errorf("connected to %d servers, want 1", rep.Connected())
	}
	if n := len(other.Snapshot().Defs); n != 0 {
		t.Errorf("the server of another root got %d defs", n)
	}
	regs, _, err := registrations(t, rt)
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

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// built returns the path of a testdata program built once per test binary
// (-trimpath builds get a "-trimpath" suffix).
func built(t *testing.T, pkg string, trimpath bool) string {
	t.Helper()
	buildOnce.Do(func() { buildDir, buildErr = os.MkdirTemp("", "clbin") })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	name := filepath.Base(pkg)
	args := []string{"build", "-o"}
	if trimpath {
		name += "-trimpath"
		args = append(args, filepath.Join(buildDir, name), "-trimpath")
	} else {
		args = append(args, filepath.Join(buildDir, name))
	}
	bin := filepath.Join(buildDir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", append(args, "./"+pkg)...)
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// exitCounts are what testdata/exits counts with -calls n.
type exitCounts struct {
	squareHits, squareMisses int64
	uncached, hashErrs       int64
	itemsMisses, mutations   int64
}

func wantExits(calls int) exitCounts {
	return exitCounts{squareHits: int64(calls - 10), squareMisses: 10, uncached: 1, hashErrs: 1, itemsMisses: 2, mutations: 1}
}

func exitsCounts(snap *store.Snapshot) (got exitCounts) {
	for _, d := range snap.Defs {
		switch {
		case strings.Contains(d.Sig, "func(int) int"):
			got.squareHits, got.squareMisses = d.Hits, d.Misses
		case strings.Contains(d.Sig, "Notifier"):
			got.uncached, got.hashErrs = d.Uncached, d.HashErrors
			if len(d.HashErrs) != 1 || !strings.Contains(d.HashErrs[0].Text, ".Send") {
				got.hashErrs = -1
			}
		case strings.Contains(d.Sig, "[]int"):
			got.itemsMisses, got.mutations = d.Misses, d.Mutations
			if len(d.MutationLog) != 1 || d.MutationLog[0].Path != "[0]" {
				got.mutations = -1
			}
		}
	}
	return got
}

// runExits runs testdata/exits ending in mode; for "kill" it kills the
// program with SIGKILL one millisecond after its last call.
func runExits(t *testing.T, bin, mode string, calls int, env []string) {
	t.Helper()
	cmd := exec.Command(bin, "-mode", mode, "-calls", strconv.Itoa(calls))
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "calls done\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("program said %q; stderr:\n%s", line, stderr.String())
	}
	if mode == "kill" {
		time.Sleep(time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err = cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	switch mode {
	case "return":
		if err != nil {
			t.Fatalf("%v: %s", err, stderr.String())
		}
	case "exit":
		if ee == nil || ee.ExitCode() != 3 {
			t.Fatalf("exit: %v", err)
		}
	case "panic", "fatal":
		if ee == nil || ee.ExitCode() == 0 {
			t.Fatalf("%s: %v", mode, err)
		}
	case "kill":
		if ee == nil || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill: %v", err)
		}
	}
}

// TestExitPaths: a program that makes N calls and then returns from main,
// calls os.Exit, panics, calls log.Fatal or is killed with SIGKILL one
// millisecond after its last call shows exactly its counts — hits, misses
// and uncached calls per function and site, hash errors and mutations —
// with the server running while it runs, and with the server started only
// after it has ended. The program never calls Flush.
func TestExitPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	bin := built(t, "testdata/exits", false)
	const calls = 5000
	want := wantExits(calls)
	for _, mode := range []string{"return", "exit", "panic", "fatal", "kill"} {
		t.Run(mode+"/server running", func(t *testing.T) {
			runs := shortDir(t)
			c, s, logs := listen(t, collector.Config{Runs: runs})
			runExits(t, bin, mode, calls, []string{wire.EnvSocket + "=" + c.Socket(), wire.EnvRuns + "=" + runs})
			snap := waitFor(t, s, "the ended run's final counts", func(s *store.Snapshot) bool {
				return len(s.Processes) == 1 && !s.Processes[0].Connected && exitsCounts(s) == want
			})
			if got := exitsCounts(snap); got != want {
				t.Fatalf("counts %+v, want %+v\nlog:\n%s", got, want, logs)
			}
		})
		t.Run(mode+"/server started after", func(t *testing.T) {
			runs := shortDir(t)
			runExits(t, bin, mode, calls, []string{wire.EnvSocket + "=" + filepath.Join(shortDir(t), "nobody.sock"), wire.EnvRuns + "=" + runs})
			_, s, _ := listen(t, collector.Config{Runs: runs})
			snap := waitFor(t, s, "the finished run", func(s *store.Snapshot) bool { return exitsCounts(s) == want })
			if p := snap.Processes; len(p) != 1 || p[0].Connected || !p[0].Shown {
				t.Errorf("processes %+v", p)
			}
		})
	}
}

// TestGoTest: `go test` of a package whose tests call cached functions,
// with no TestMain, shows the test binary's counts.
func TestGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	runs := shortDir(t)
	_, s, _ := listen(t, collector.Config{Runs: runs})
	cmd := exec.Command("go", "test", "-count=1", "./testdata/tested")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs, wire.EnvSocket+"=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	snap := waitFor(t, s, "the test binary's counts", func(s *store.Snapshot) bool {
		return len(s.Defs) == 1 && s.Defs[0].Hits == 99 && s.Defs[0].Misses == 1
	})
	if p := snap.Processes; len(p) != 1 || !strings.HasSuffix(p[0].Program, ".test") {
		t.Errorf("processes %+v", p)
	}
}

// TestRestart: the server goes away while the program runs and a new one
// comes; the new server sees every call, counted while no server was there
// too.
func TestRestart(t *testing.T) {
	runs := shortDir(t)
	sock := filepath.Join(shortDir(t), "s.sock")
	c1, s1, _ := listen(t, collector.Config{Socket: sock, Runs: runs})
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: sock, Runs: runs, Interval: 10 * time.Millisecond})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	for i := range 1000 {
		f(i % 50)
	}
	waitFor(t, s1, "first counts", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 950 })
	c1.Close()
	for i := range 1000 {
		f(i % 50) // all hits, while no server listens
	}
	_, s2, _ := listen(t, collector.Config{Socket: sock, Runs: runs})
	waitFor(t, s2, "totals after the restart", func(s *store.Snapshot) bool {
		return len(s.Defs) == 1 && s.Defs[0].Misses == 50 && s.Defs[0].Hits == 1950 && s.Processes[0].Connected
	})
}

// TestCallsNeverWaitForReporting: the caches count without the reporter's
// goroutine: connected to a server that accepts and never reads, and with
// the goroutine stopped altogether, calls complete and are counted
// exactly. The mechanism — counters in memory, no I/O on the call path —
// is what is checked, not a time bound.
func TestCallsNeverWaitForReporting(t *testing.T) {
	sock := filepath.Join(shortDir(t), "hole.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held, never read
		}
	}()
	runs := shortDir(t)
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: sock, Runs: runs, Interval: time.Millisecond})
	var h cacheruntime.Handle
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep), cacheruntime.WithHandle(&h))
	for i := range 50_000 {
		f(i % 100)
	}
	rep.Close() // the reporter's goroutine is gone
	for i := range 50_000 {
		f(i % 100)
	}
	if s := h.Stats(); s.Hits != 99_900 || s.Misses != 100 {
		t.Fatalf("stats %+v", s)
	}
	_, st, _ := listen(t, collector.Config{Runs: runs})
	waitFor(t, st, "the counts, read from the run file", func(s *store.Snapshot) bool {
		return len(s.Defs) == 1 && s.Defs[0].Hits == 99_900
	})
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
	frame, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: 1, Start: time.Now(), RunID: strings.Repeat("ab", 16)})
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
	c, s, logs := listen(t, collector.Config{MaxFrame: 4096})
	hello := func(pid int, runID string) []byte {
		b, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: pid, Start: time.Unix(int64(pid), 0), RunID: runID})
		return b
	}
	hdr := func(n uint32, v, typ byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), v, typ) }
	streams := map[string][]byte{
		"oversized":         hdr(1<<20, wire.Version, 1),
		"unknown version":   append(hdr(4, 7, 1), "{}"...),
		"no hello":          append(hdr(4, wire.Version, 9), "{}"...),
		"garbage":           []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"bad run id":        hello(77, "zz"),
		"run not in dir":    hello(78, strings.Repeat("cd", 16)),
		"malformed payload": append(hdr(7, wire.Version, 1), "{bad}.."...),
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
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket(), Runs: shortDir(t)})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	waitFor(t, s, "the good program", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Misses == 1 })
	log := logs.String()
	for _, want := range []string{"frame too large", "unsupported protocol version: 7", "did not start with a hello", "malformed message", "bad run id", "not in the runs directory"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// registrations reads the registrations in the runtime directory rt.
func registrations(t *testing.T, rt string) ([]wire.Registration, []string, error) {
	t.Helper()
	d, err := wire.OpenDir(rt, false, false)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	return d.Registrations()
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
	d, err := wire.OpenDir(rt, false, false)
	if err != nil {
		t.Fatal(err)
	}
	staleName, err := d.Register(wire.Registration{Root: "/gone", Socket: staleSock, PID: deadPID})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(rt, staleName)
	c, _, _ := listen(t, collector.Config{Dir: rt, Roots: []string{"/w"}})
	for _, p := range []string{stale, staleSock} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists", p)
		}
	}
	regs, files, _ := registrations(t, rt)
	if len(regs) != 1 || regs[0].Root != "/w" || regs[0].Socket != c.Socket() {
		t.Fatalf("registrations %+v", regs)
	}
	if fi, _ := os.Stat(c.Socket()); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	if err := c.SetRoots([]string{"/w", "/v"}); err != nil {
		t.Fatal(err)
	}
	if regs, _, _ := registrations(t, rt); len(regs) != 2 {
		t.Fatalf("registrations after SetRoots %+v", regs)
	}
	c.Close()
	if _, err := os.Stat(c.Socket()); !os.IsNotExist(err) {
		t.Error("socket left behind")
	}
	if _, err := os.Stat(filepath.Join(rt, files[0])); !os.IsNotExist(err) {
		t.Error("registration left behind")
	}
}

// TestSquattedRuntimeDir: when someone else has taken the runtime and runs
// directories (they are open to others, or, as root, owned by another
// user), the server and the program each use a private directory beside
// them, find each other there, and the counts arrive; the server says why.
func TestSquattedRuntimeDir(t *testing.T) {
	base := shortDir(t)
	rt, runs := filepath.Join(base, "cachelens-1"), filepath.Join(base, "runs-1")
	for _, d := range []string{rt, runs} {
		os.Mkdir(d, 0o777)
		os.Chmod(d, 0o777)
		if os.Getuid() == 0 {
			os.Chown(d, 65534, 65534)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	c, s, logs := listen(t, collector.Config{Dir: rt, Runs: runs, Roots: []string{filepath.Dir(file)}})
	if !strings.HasPrefix(c.Socket(), rt+"-") || !strings.Contains(c.Note(), "cannot be used") {
		t.Fatalf("socket %s, note %q", c.Socket(), c.Note())
	}
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Dir: rt, Runs: runs})
	defer rep.Close()
	if !strings.HasPrefix(rep.RunFile(), runs+"-") {
		t.Fatalf("run file %q (%s)", rep.RunFile(), rep.RunFileNote())
	}
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	f(1)
	rep.Flush()
	waitFor(t, s, "the counts", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 1 })
	if rep.Connected() != 1 {
		t.Errorf("the program found %d servers", rep.Connected())
	}
	if !strings.Contains(logs.String(), "cannot be used") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestManyProcesses: 100 programs run at once; no count is lost, and all
// of them count (they started together: one batch).
func TestManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100 processes")
	}
	bin := built(t, "testdata/loadgen", false)
	runs := shortDir(t)
	c, s, logs := listen(t, collector.Config{Runs: runs})
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	}()
	const procs, calls = 100, 1000
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(bin, "-calls", strconv.Itoa(calls))
			cmd.Env = append(os.Environ(), wire.EnvSocket+"="+c.Socket(), wire.EnvRuns+"="+runs)
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

// TestRunsOneAfterAnother: runs of one program made one after another
// replace each other: the lens shows the latest run's counts, not a sum
// and not the first run's.
func TestRunsOneAfterAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	bin := built(t, "testdata/exits", false)
	runs := shortDir(t)
	_, s, _ := listen(t, collector.Config{Runs: runs})
	env := []string{wire.EnvRuns + "=" + runs, wire.EnvSocket + "="}
	runExits(t, bin, "return", 100, env)
	waitFor(t, s, "the first run", func(s *store.Snapshot) bool { return exitsCounts(s) == wantExits(100) })
	time.Sleep(store.BatchGap + 100*time.Millisecond)
	runExits(t, bin, "exit", 300, env)
	snap := waitFor(t, s, "the second run only", func(s *store.Snapshot) bool { return exitsCounts(s) == wantExits(300) })
	shown := 0
	for _, p := range snap.Processes {
		if p.Shown {
			shown++
		}
	}
	if len(snap.Processes) != 2 || shown != 1 {
		t.Errorf("processes %+v", snap.Processes)
	}
}

// TestHostileRunFiles: the runs directory holds things that are not run
// files a program of this user wrote — a FIFO, a symlink, a file of
// another user, a file others may read, a truncated file, garbage, an
// oversized file, a header claiming more than it has — beside a real run.
// The real run is read; the rest is ignored without blocking, panicking or
// reading beyond the size bound, and each is logged once.
func TestHostileRunFiles(t *testing.T) {
	runs := shortDir(t)
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: runs, Socket: filepath.Join(shortDir(t), "none.sock")})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	f(1)
	good, err := os.ReadFile(rep.RunFile())
	if err != nil {
		t.Fatal(err)
	}
	name := func(i int) string { return filepath.Join(runs, wire.RunFileName(1_000_000+i, int64(i))) }
	if err := syscall.Mkfifo(name(1), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink(rep.RunFile(), name(2))
	os.WriteFile(name(3), good, 0o644) // readable by others
	os.WriteFile(name(4), good[:100], 0o600)
	os.WriteFile(name(5), bytes.Repeat([]byte("garbage!"), 1000), 0o600)
	os.WriteFile(name(6), make([]byte, wire.RunMaxSize+wire.RunChunkSize), 0o600)
	lying := bytes.Clone(good[:wire.RunChunkSize])
	binary.LittleEndian.PutUint32(lying[20:], wire.RunMaxChunks) // claims 16 chunks
	lying[40]++                                                  // another run
	os.WriteFile(name(7), lying, 0o600)
	if os.Getuid() == 0 {
		os.WriteFile(name(8), good, 0o600)
		os.Chown(name(8), 65534, 65534)
	}
	_, s, logs := listen(t, collector.Config{Runs: runs})
	// The copy with a lying header is another run of the same program
	// (read as far as it goes): both count.
	waitFor(t, s, "the real run", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 2 })
	time.Sleep(600 * time.Millisecond) // a few scans
	snap := s.Snapshot()
	if len(snap.Processes) != 2 {
		t.Errorf("%d runs in the store, want 2 (the real one, and the one whose header claims more chunks than it has): %+v", len(snap.Processes), snap.Processes)
	}
	log := logs.String()
	for _, want := range []string{"not a regular file (p", "not a regular file (L", "has mode 0644", "malformed run-file header", "not a cachelens run file", "more than a run file holds"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if os.Getuid() == 0 && !strings.Contains(log, "owned by uid 65534") {
		t.Errorf("the other user's file was not refused:\n%s", log)
	}
	if n := strings.Count(log, "has mode 0644"); n != 1 {
		t.Errorf("logged the same file %d times:\n%s", n, log)
	}
}

// TestRunFileBeingCreated: a scan that finds a run file sized but without
// its header yet — a program writes it through a mapping, which need not
// change the file's size or time — reads the run once the header is there,
// rather than skipping the file as not a run file while it is unchanged.
func TestRunFileBeingCreated(t *testing.T) {
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: shortDir(t), Socket: filepath.Join(shortDir(t), "none.sock")})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	f(1)
	good, err := os.ReadFile(rep.RunFile())
	if err != nil {
		t.Fatal(err)
	}
	runs := shortDir(t)
	name := filepath.Join(runs, wire.RunFileName(4242, 1))
	fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := wire.HoldRunLock(fh); err != nil {
		t.Fatal(err)
	}
	fh.Truncate(int64(len(good)))
	fi, _ := fh.Stat()
	_, s, logs := listen(t, collector.Config{Runs: runs})
	time.Sleep(400 * time.Millisecond) // a few scans see it without a header
	fh.WriteAt(good, 0)
	os.Chtimes(name, fi.ModTime(), fi.ModTime()) // as a write through a mapping may leave it
	waitFor(t, s, "the run", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Hits == 1 })
	if strings.Contains(logs.String(), "ignoring") {
		t.Errorf("a run file being created was reported as not a run file:\n%s", logs)
	}
}

// TestManyStaleRunFiles: a directory with 10,000 run files of processes
// that ended long ago is cleaned in bounded time, without the server
// parsing them, and a real run beside them is read.
func TestManyStaleRunFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 files")
	}
	runs := shortDir(t)
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Runs: runs, Socket: filepath.Join(shortDir(t), "none.sock")})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	good, _ := os.ReadFile(rep.RunFile())
	old := time.Now().Add(-2 * wire.RunRetention)
	for i := range 10_000 {
		p := filepath.Join(runs, wire.RunFileName(2_000_000+i, old.UnixNano()+int64(i)))
		if err := os.WriteFile(p, good[:wire.RunHeaderSize], 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	t0 := time.Now()
	_, s, _ := listen(t, collector.Config{Runs: runs})
	waitFor(t, s, "the real run", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Misses == 1 })
	for {
		entries, _ := os.ReadDir(runs)
		if len(entries) <= wire.RunMaxFiles {
			break
		}
		if time.Since(t0) > 60*time.Second {
			t.Fatalf("%d files left after %v", len(entries), time.Since(t0))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("10,000 stale files cleaned in %v", time.Since(t0))
	if n := len(s.Snapshot().Processes); n != 1 {
		t.Errorf("%d runs in the store", n)
	}
}

// TestTrimpath: a program built with -trimpath names its files by module
// path; the collector places them in the workspace module with that path,
// and says in its log why a run matches no workspace.
func TestTrimpath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := built(t, "testdata/exits", true)
	root := moduleRoot(t)
	runs := shortDir(t)
	_, s, _ := listen(t, collector.Config{Runs: runs, Roots: []string{root},
		Modules: func() map[string]string { return map[string]string{"github.com/cachelens/cachelens": root} }})
	cmd := exec.Command(bin, "-calls", "50")
	cmd.Dir = root // run in the module: the program finds its sources and records their hashes
	cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs, wire.EnvSocket+"=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	main := filepath.Join(root, "testdata", "exits", "main.go")
	snap := waitFor(t, s, "the trimpath run placed in the workspace", func(s *store.Snapshot) bool {
		return len(s.DefsIn(main)) == 3 && exitsCounts(s) == wantExits(50)
	})
	d := snap.DefsIn(main)[0]
	if src, ok := d.Built[main]; !ok || src.Hash == ([32]byte{}) {
		t.Errorf("no source hash for %s: %+v", main, d.Built)
	}
	if p := snap.Processes; len(p) != 1 || !p[0].Trimpath {
		t.Errorf("processes %+v", p)
	}

	// Another workspace: nothing shown, and the log says why.
	runs2 := shortDir(t)
	_, s2, logs := listen(t, collector.Config{Runs: runs2, Roots: []string{shortDir(t)},
		Modules: func() map[string]string { return map[string]string{"example.com/other": "/nowhere"} }})
	cmd = exec.Command(bin, "-calls", "5")
	cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs2, wire.EnvSocket+"=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "built with -trimpath") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line says why the run is not shown:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(s2.Snapshot().Defs); n != 0 {
		t.Errorf("%d defs shown in an unrelated workspace", n)
	}
	if !strings.Contains(logs.String(), "github.com/cachelens/cachelens/testdata/exits/main.go") {
		t.Errorf("the log does not name the paths:\n%s", logs)
	}
}

// TestManyCaches: a program with 10,000 caches reports every one of its
// 3,080,000 calls.
func TestManyCaches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	bin := built(t, "testdata/manycaches", false)
	runs := shortDir(t)
	_, s, logs := listen(t, collector.Config{Runs: runs})
	cmd := exec.Command(bin, "-caches", "10000", "-calls", "308")
	cmd.Env = append(os.Environ(), wire.EnvRuns+"="+runs, wire.EnvSocket+"=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	snap := waitFor(t, s, "3,080,000 calls", func(s *store.Snapshot) bool {
		return len(s.Defs) == 1 && s.Defs[0].Hits+s.Defs[0].Misses == 3_080_000
	})
	if d := snap.Defs[0]; d.Misses != 10_000 || d.Computes != 10_000 {
		t.Errorf("def %+v", d)
	}
	if strings.Contains(logs.String(), "full") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestConnectionBounds: 1,000 connections each sending most of a large
// frame, and connections that never say hello, cost bounded memory: the
// frames are refused by their length, at most MaxConns are open at once,
// silent ones are closed after the hello timeout, and an honest program
// still gets through. The memory goes when they close.
func TestConnectionBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	c, s, logs := listen(t, collector.Config{MaxConns: 300})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	var conns []net.Conn
	// Most of a 1 MiB frame; one buffer for all writers, so that the heap
	// measured is the collector's.
	big := append(binary.BigEndian.AppendUint32(nil, 1<<20), make([]byte, 1<<20-100)...)
	for i := range 1000 {
		conn, err := net.Dial("unix", c.Socket())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		if i%2 == 0 {
			go conn.Write(big)
		}
	}
	time.Sleep(500 * time.Millisecond)
	during := heap()
	t.Logf("heap in use: %.1f MB before, %.1f MB with 1,000 hostile connections", float64(before)/1e6, float64(during)/1e6)
	if during > before+64<<20 {
		t.Errorf("1,000 connections cost %.1f MB", float64(during-before)/1e6)
	}
	// An honest program, once the silent ones time out.
	rep := cacheruntime.NewReporter(cacheruntime.ReporterOptions{Socket: c.Socket(), Runs: shortDir(t)})
	defer rep.Close()
	f := cacheruntime.Func1(func(x int) int { return x }, cacheruntime.WithReporter(rep))
	f(1)
	waitFor(t, s, "the honest program", func(s *store.Snapshot) bool { return len(s.Defs) == 1 && s.Defs[0].Misses == 1 })
	for _, conn := range conns {
		conn.Close()
	}
	time.Sleep(200 * time.Millisecond)
	after := heap()
	t.Logf("heap in use after they closed: %.1f MB", float64(after)/1e6)
	if after > before+16<<20 {
		t.Errorf("the connections' memory stayed: %.1f MB", float64(after-before)/1e6)
	}
	if log := logs.String(); !strings.Contains(log, "frame too large") || !strings.Contains(log, "refused a connection") {
		t.Errorf("log:\n%.2000s", log)
	}
}
