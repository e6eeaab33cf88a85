package main

import (
	"bufio"
	"bytes"
	"context"
	be "encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/internal/testmodule"
	"github.com/cachelens/cachelens/wire"
)

// The bounds the soak test holds the language server to, on a 2-core CI
// machine that also runs the programs, the attackers and the editor of
// the test. docs/benchmarks.md ("Reliability") records what was measured.
const (
	soakMaxRSS    = 512 << 20               // peak resident memory of the server (VmHWM)
	soakMaxP99    = 1500 * time.Millisecond // codeLens and hover, each
	soakFinalRuns = 20                      // flood runs in the final, exactly checked batch
	soakCalls     = 200                     // calls each flood run of the final batch makes
	soakMassCalls = 20                      // calls each of the thousands of other runs makes
	soakHostile   = 600                     // hostile connections kept open (the server allows 512)
	bigDocBytes   = 2 << 20                 // the edited document
)

// TestSoak drives the real server binary for a minute (CACHELENS_SOAK=2m
// for longer) with everything at once: thousands of edits to a 2 MB
// document, with its full text replaced every few hundred; code lens and
// hover requests throughout; thousands of short-lived programs, each with
// its own distinct miss reasons and hash errors; 600 hostile connections
// (idle, half-sent frames, garbage, hellos naming a FIFO); and hostile
// files in the runs directory (a FIFO, a symlink to /dev/zero, a sparse
// 1 GiB file, garbage, a directory). It asserts that the server's peak RSS
// and the codeLens and hover p99 latencies stay under the bounds above,
// and that a final batch of honest programs — flood runs and testdata/exits
// runs ending by return, os.Exit, panic, log.Fatal and SIGKILL — shows
// exactly its counts.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server under load for a minute")
	}
	dur := time.Minute
	if s := os.Getenv("CACHELENS_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CACHELENS_SOAK=%q: %v", s, err)
		}
		dur = d
	}
	root := testmodule.Root(t)
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	floodSrc, exitsSrc := read("testdata/flood/main.go"), read("testdata/exits/main.go")
	dir := testmodule.New(t, "example.com/soak", map[string]string{
		"flood/main.go": floodSrc,
		"exits/main.go": exitsSrc,
		"big/big.go":    bigSource(0),
	})
	bins := t.TempDir()
	for _, p := range []string{"flood", "exits"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bins, p), "./"+p)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOCACHE="+goCache)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	rt, env := privateRuntime(t)

	args := []string{"serve", "--stdio"}
	if prof := os.Getenv("CACHELENS_SOAK_PROFILE"); prof != "" { // a file name prefix
		args = append(args, "-cpuprofile", prof+".cpu", "-memprofile", prof+".heap")
	}
	if logfile := os.Getenv("CACHELENS_SOAK_LOG"); logfile != "" {
		args = append(args, "-logfile", logfile)
	}
	srv, c, stderr := startServer(t, env, args...)
	err := c.Call("initialize", map[string]any{
		"processId":        os.Getpid(),
		"workspaceFolders": []any{map[string]string{"uri": "file://" + dir, "name": "soak"}},
		"capabilities": map[string]any{
			"workspace":    map[string]any{"codeLens": map[string]bool{"refreshSupport": true}},
			"textDocument": map[string]any{"codeLens": map[string]any{}},
			"window":       map[string]bool{"workDoneProgress": true},
		},
	}, nil)
	if err != nil {
		t.Fatalf("initialize: %v\n%s", err, stderr.String())
	}
	c.Notify("initialized", map[string]any{})
	floodURI, exitsURI, bigURI := "file://"+dir+"/flood/main.go", "file://"+dir+"/exits/main.go", "file://"+dir+"/big/big.go"
	for uri, text := range map[string]string{floodURI: floodSrc, exitsURI: exitsSrc, bigURI: bigSource(0)} {
		c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "go", "version": 1, "text": text}})
	}
	socket := waitSocket(t, filepath.Join(rt, "cachelens"))
	runsDir := filepath.Join(rt, "cachelens", "runs")
	// The soak starts once the workspace is loaded and checked (a
	// separate figure: go list and type checking, on an idle machine).
	loadStart := time.Now()
	for checked := false; !checked; time.Sleep(20 * time.Millisecond) {
		for _, p := range c.Progress() {
			checked = checked || strings.Contains(string(p), `"end"`)
		}
		if time.Since(loadStart) > 5*time.Minute {
			t.Fatalf("the workspace was not checked within 5 minutes\n%s", tail(stderr.String(), 4000))
		}
	}
	loaded := time.Since(loadStart)

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	var peakRSS atomic.Int64
	var lensLat, hoverLat latencies
	var edits, runs, hostileConns atomic.Int64
	var failures lockedBuffer
	fail := func(format string, args ...any) { fmt.Fprintf(&failures, format+"\n", args...) }

	// The server's memory, sampled: the peak, and the peaks of the second
	// and the last third of the soak, which must not grow.
	var thirds [3]atomic.Int64
	start := time.Now()
	wg.Go(func() {
		for ctx.Err() == nil {
			rss := procStatus(srv.Process.Pid, "VmRSS")
			if rss > peakRSS.Load() {
				peakRSS.Store(rss)
			}
			if third := &thirds[min(2, int(3*time.Since(start)/dur))]; rss > third.Load() {
				third.Store(rss)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// The editor: edits to the big document, code lenses and hovers.
	wg.Go(func() {
		lines := strings.Count(bigSource(0), "\n")
		hoverFlood := map[string]any{"textDocument": map[string]string{"uri": floodURI}, "position": position(floodSrc, "var lookup", 5)}
		for i := 1; ctx.Err() == nil; i++ {
			change := map[string]any{"range": map[string]any{"start": map[string]int{"line": i * 7919 % lines, "character": 0}, "end": map[string]int{"line": i * 7919 % lines, "character": 0}},
				"text": fmt.Sprintf("// edit %d\n", i)}
			if i%500 == 0 { // the whole text replaced, as some clients do
				change = map[string]any{"text": bigSource(i)}
				lines = strings.Count(bigSource(i), "\n")
			} else {
				lines++
			}
			c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": bigURI, "version": i + 1}, "contentChanges": []any{change}})
			edits.Add(1)
			if i%100 == 0 {
				time.Sleep(500 * time.Millisecond) // typing pauses: the checks run
			}
			if i%10 != 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			for _, uri := range []string{floodURI, bigURI} {
				t0 := time.Now()
				var raw []json.RawMessage
				err := c.Call("textDocument/codeLens", map[string]any{"textDocument": map[string]string{"uri": uri}}, &raw)
				lensLat.add(time.Since(t0))
				if err != nil {
					fail("codeLens %s: %v", uri, err)
				}
			}
			t0 := time.Now()
			if err := c.Call("textDocument/hover", hoverFlood, nil); err != nil {
				fail("hover: %v", err)
			}
			hoverLat.add(time.Since(t0))
		}
	})

	// Short-lived programs, each with its own distinct texts, until a few
	// seconds before the end. They and the attackers run at a lower CPU
	// priority (nice 10): what they cost the server itself — connections,
	// run files, counts — is measured, not what they cost a 2-core machine
	// that must also run them.
	programsEnd := time.Now().Add(dur - 5*time.Second)
	for w := range 2 {
		wg.Go(func() {
			for n := 0; time.Now().Before(programsEnd); n++ {
				cmd := exec.Command(filepath.Join(bins, "flood"), "-calls", strconv.Itoa(soakMassCalls), "-tag", fmt.Sprintf("w%dn%d-", w, n))
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					fail("flood: %v\n%s", err, out)
					return
				}
				runs.Add(1)
			}
		})
	}

	// Hostile connections and files, from a process of their own (so that
	// the editor's latencies measured here are the server's, not this
	// process's scheduling).
	wg.Go(func() {
		cmd := exec.Command("nice", "-n", "10", os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), attackEnv+"="+strings.Join([]string{socket, runsDir, dur.String()}, "\n"))
		out, err := cmd.Output()
		if err != nil {
			fail("the attacker: %v", err)
			return
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		hostileConns.Store(n)
	})
	wg.Wait()
	if failures.Len() > 0 {
		t.Fatalf("during the soak:\n%s\nserver log:\n%s", failures.String(), tail(stderr.String(), 4000))
	}

	// The final batch, a batch of its own: honest programs whose counts
	// must all arrive.
	time.Sleep(batchGap + time.Second)
	var final sync.WaitGroup
	for i := range soakFinalRuns {
		final.Go(func() {
			cmd := exec.Command(filepath.Join(bins, "flood"), "-calls", strconv.Itoa(soakCalls), "-tag", fmt.Sprintf("final%d-", i))
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				fail("final flood: %v\n%s", err, out)
			}
		})
	}
	modes := []string{"return", "exit", "panic", "fatal", "kill"}
	for _, mode := range modes {
		final.Go(func() {
			if err := runExitsMode(filepath.Join(bins, "exits"), mode, env); err != nil {
				fail("exits -mode %s: %v", mode, err)
			}
		})
	}
	final.Wait()
	if failures.Len() > 0 {
		t.Fatal(failures.String())
	}
	wantFlood := []string{"| hits | 0 |", fmt.Sprintf("| misses | %d |", soakFinalRuns*soakCalls*9/10), fmt.Sprintf("| uncached calls | %d |", soakFinalRuns*soakCalls/10)}
	wantExits := []string{fmt.Sprintf("| hits | %d |", len(modes)*990), fmt.Sprintf("| misses | %d |", len(modes)*10)}
	hoverExits := map[string]any{"textDocument": map[string]string{"uri": exitsURI}, "position": position(exitsSrc, "square = ", 2)}
	hoverFlood := map[string]any{"textDocument": map[string]string{"uri": floodURI}, "position": position(floodSrc, "var lookup", 5)}
	deadline := time.Now().Add(30 * time.Second)
	var gotFlood, gotExits string
	for {
		gotFlood, gotExits = hoverText(c, hoverFlood), hoverText(c, hoverExits)
		if containsAll(gotFlood, wantFlood) && containsAll(gotExits, wantExits) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the final batch's counts did not arrive exactly: flood hover\n%s\nwant %q\nexits hover\n%s\nwant %q\nserver log:\n%s",
				gotFlood, wantFlood, gotExits, wantExits, tail(stderr.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rss := procStatus(srv.Process.Pid, "VmHWM"); rss > peakRSS.Load() {
		peakRSS.Store(rss)
	}

	lp99, lmax, ln := lensLat.quantile(0.99)
	hp99, hmax, hn := hoverLat.quantile(0.99)
	t.Logf("workspace loaded and checked in %v; soak %v: %d edits, %d programs, %d hostile connections; peak RSS %d MiB (bound %d); codeLens p99 %v max %v (%d); hover p99 %v max %v (%d)",
		loaded.Round(time.Millisecond), dur, edits.Load(), runs.Load(), hostileConns.Load(), peakRSS.Load()>>20, soakMaxRSS>>20, lp99, lmax, ln, hp99, hmax, hn)
	if peakRSS.Load() > soakMaxRSS {
		t.Errorf("peak RSS %d MiB, bound %d MiB", peakRSS.Load()>>20, soakMaxRSS>>20)
	}
	mid, last := thirds[1].Load(), thirds[2].Load()
	t.Logf("peak RSS by third of the soak: %d, %d, %d MiB", thirds[0].Load()>>20, mid>>20, last>>20)
	if last > mid+mid/4+32<<20 {
		t.Errorf("memory grows: peak RSS %d MiB in the second third of the soak, %d MiB in the last", mid>>20, last>>20)
	}
	if lp99 > soakMaxP99 || hp99 > soakMaxP99 {
		t.Errorf("p99 codeLens %v, hover %v; bound %v", lp99, hp99, soakMaxP99)
	}
	if s := stderr.String(); strings.Contains(s, "panic:") || strings.Contains(s, "internal error") {
		t.Errorf("the server logged a panic:\n%s", tail(stderr.String(), 4000))
	}
	// The server shuts down cleanly, however loaded.
	if err := c.Call("shutdown", nil, nil); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	c.Notify("exit", nil)
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the server did not exit within 10s of shutdown and exit")
	}
	if min(edits.Load(), runs.Load()) == 0 {
		t.Errorf("%d edits and %d programs: the load did not run", edits.Load(), runs.Load())
	}
}

// bigSource is a Go file of about bigDocBytes: many small functions and
// comments; seed varies it.
func bigSource(seed int) string {
	var b strings.Builder
	b.WriteString("// Package big is a large generated file the soak test edits. It uses a\n// cache, so every edit is type-checked and analyzed.\npackage big\n\n")
	b.WriteString("import \"github.com/cachelens/cachelens/cacheruntime\"\n\nvar cached = cacheruntime.Func1(F0)\n\n")
	for i := 0; b.Len() < bigDocBytes; i++ {
		fmt.Fprintf(&b, "// F%d returns a number (version %d).\nfunc F%d(x int) int { return x*%d + %d }\n\n", i, seed, i, i%97, seed)
	}
	return b.String()
}

// position is the LSP position of column col on the first line with sub.
func position(src, sub string, col int) map[string]int {
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, sub) {
			return map[string]int{"line": i, "character": col}
		}
	}
	panic("no line with " + sub)
}

func hoverText(c *lsptest.Client, params any) string {
	var hov struct {
		Contents struct{ Value string } `json:"contents"`
	}
	if err := c.Call("textDocument/hover", params, &hov); err != nil {
		return "error: " + err.Error()
	}
	return hov.Contents.Value
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// waitSocket waits for the server's registration in dir and returns the
// socket it names.
func waitSocket(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, m := range matches {
			var reg wire.Registration
			if data, err := os.ReadFile(m); err == nil && json.Unmarshal(data, &reg) == nil && reg.Socket != "" {
				return reg.Socket
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no server registered in %s", dir)
	return ""
}

// attackEnv makes the test binary the soak test's attacker (see attack).
const attackEnv = "CACHELENS_SOAK_ATTACK"

// attack runs the soak test's attackers for a while and prints how many
// hostile connections they made: soakHostile connections kept open to the
// socket, and hostile files kept in the runs directory. Its argument is
// the socket, the runs directory and the duration, one per line.
func attack(arg string) {
	parts := strings.Split(arg, "\n")
	socket, runsDir := parts[0], parts[1]
	dur, _ := time.ParseDuration(parts[2])
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	var conns atomic.Int64
	for i := range soakHostile {
		wg.Go(func() {
			for ctx.Err() == nil {
				if hostile(ctx, socket, runsDir, i) {
					conns.Add(1)
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			plantRunFiles(runsDir)
			time.Sleep(time.Second)
		}
	})
	wg.Wait()
	fmt.Println(conns.Load())
}

// hostile makes one hostile connection, of kind i%5, and holds it until
// the server closes it or ctx ends. It reports whether it connected.
func hostile(ctx context.Context, socket, runsDir string, i int) bool {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	switch i % 5 {
	case 0: // silent
	case 1: // a frame that announces 60 KiB and sends half
		var hdr [6]byte
		be.BigEndian.PutUint32(hdr[:4], 60<<10)
		hdr[4], hdr[5] = wire.Version, byte(wire.TypeHello)
		conn.Write(hdr[:])
		conn.Write(bytes.Repeat([]byte("{"), 30<<10))
	case 2: // garbage
		junk := make([]byte, 4096)
		for j := range junk {
			junk[j] = byte(rand.IntN(256))
		}
		conn.Write(junk)
	case 3: // a hello naming a FIFO as its run file, then silence
		frame, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: 1, Program: "/bin/hostile", Start: time.Now(),
			Run: filepath.Join(runsDir, wire.RunFileName(1, 1)), RunID: "00112233445566778899aabbccddeeff"})
		conn.Write(frame)
	case 4: // a hello, then a stream of bytes
		frame, _ := wire.AppendFrame(nil, &wire.Hello{Proto: wire.Version, PID: 2, Program: "/bin/hostile", Start: time.Now(),
			RunID: "ffeeddccbbaa99887766554433221100"})
		conn.Write(frame)
		junk := make([]byte, 32<<10)
		for ctx.Err() == nil {
			if _, err := conn.Write(junk); err != nil {
				break
			}
		}
	}
	conn.Read(make([]byte, 1)) // until the server closes it
	return true
}

// plantRunFiles puts hostile files where run files go.
func plantRunFiles(dir string) {
	os.MkdirAll(dir, 0o700)
	at := func(pid int) string { return filepath.Join(dir, wire.RunFileName(pid, int64(pid))) }
	syscall.Mkfifo(at(1), 0o600)
	os.Symlink("/dev/zero", at(2))
	if f, err := os.OpenFile(at(3), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600); err == nil {
		f.Truncate(1 << 30) // sparse
		f.Close()
	}
	junk := make([]byte, 64<<10)
	for i := range junk {
		junk[i] = byte(rand.IntN(256))
	}
	copy(junk, "CLRUN") // a plausible start
	os.WriteFile(at(4), junk, 0o600)
	os.Mkdir(at(5), 0o700)
	for pid := 100; pid < 400; pid++ {
		if _, err := os.Lstat(at(pid)); err != nil {
			os.WriteFile(at(pid), junk[:rand.IntN(len(junk))], 0o600)
		}
	}
}

// runExitsMode runs testdata/exits ending in mode; for "kill" it kills
// the program with SIGKILL after its last call.
func runExitsMode(bin, mode string, env []string) error {
	cmd := exec.Command(bin, "-mode", mode)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "calls done\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("the program said %q", line)
	}
	if mode == "kill" {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err = cmd.Wait()
	if mode == "return" {
		return err
	}
	if err == nil {
		return fmt.Errorf("it ended without error")
	}
	return nil
}

// procStatus returns a memory figure (VmRSS, VmHWM) of process pid, in bytes.
func procStatus(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile, the maximum and the number of samples.
func (l *latencies) quantile(q float64) (p, max time.Duration, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))], s[len(s)-1], len(s)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
