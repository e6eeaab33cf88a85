// Package lspbench measures the cachelens language server side by side
// with gopls v0.23.0 in the same run: latency of codeLens, inlayHint and
// hover (p50, p99), time from an edit to the published diagnostics, and
// memory. Both servers run as child processes driven by the same JSON-RPC
// client over pipes. See docs/benchmarks.md.
package lspbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/lsptest"
	"github.com/cachelens/cachelens/internal/testmodule"
)

const goplsVersion = "v0.23.0"

var (
	setupOnce sync.Once
	setupErr  error
	bins      = map[string]string{} // server name → binary
	tmpRoot   string
	goCache   string
)

func sh(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func setup(b *testing.B) {
	setupOnce.Do(func() {
		tmpRoot, setupErr = os.MkdirTemp("", "lspbench")
		if setupErr != nil {
			return
		}
		root, _ := filepath.Abs("../..")
		bins["cachelens"] = filepath.Join(tmpRoot, "cachelens")
		if setupErr = sh(root, nil, "go", "build", "-o", bins["cachelens"], "./cmd/cachelens"); setupErr != nil {
			return
		}
		if g := os.Getenv("GOPLS"); g != "" {
			bins["gopls"] = g
		} else {
			gobin := filepath.Join(tmpRoot, "bin")
			if setupErr = sh(tmpRoot, append(os.Environ(), "GOBIN="+gobin), "go", "install", "golang.org/x/tools/gopls@"+goplsVersion); setupErr != nil {
				return
			}
			bins["gopls"] = filepath.Join(gobin, "gopls")
		}
		if base := os.Getenv("LSPBENCH_BASE"); base != "" {
			// A/B: another build of cachelens runs beside this one.
			bins["cachelens-base"] = base
			servers = append(servers, "cachelens-base")
		}
		out, _ := exec.Command("go", "env", "GOCACHE").Output()
		goCache = strings.TrimSpace(string(out))
	})
	if setupErr != nil {
		b.Fatal(setupErr)
	}
}

// module writes a module that uses this repository's cacheruntime, once
// per benchmark binary.
func module(b *testing.B, name string, files map[string]string) string {
	dir := filepath.Join(tmpRoot, name)
	if _, err := os.Stat(dir); err != nil {
		testmodule.Write(b, dir, "example.com/"+name, files)
	}
	return dir
}

// workspace is a module, the file the benchmark works on, a position to
// hover, and an edit that adds both a type error and a mutation of a
// cached result.
type workspace struct {
	dir, file string
	hover     lsptest.Position
	editLine  int
	editText  string
}

func smallWorkspace(b *testing.B) workspace {
	root, _ := filepath.Abs("../..")
	src, _ := os.ReadFile(filepath.Join(root, "example", "catalog", "main.go"))
	dir := module(b, "small", map[string]string{"main.go": string(src)})
	return workspace{dir: dir, file: filepath.Join(dir, "main.go"), hover: find(string(src), "\tloadCatalog(\"us\")", 2),
		editLine: lineOf(string(src), "\tloadCatalog(\"us\")"), editText: "\tloadCatalog(\"zz\").Products[0].Price = \"free\"\n"}
}

// bigWorkspace: one 5,000-line file with 200 cached functions.
func bigWorkspace(b *testing.B) workspace {
	var sb strings.Builder
	sb.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\t\"github.com/cachelens/cachelens/cacheruntime\"\n)\n\n")
	sb.WriteString("type Row struct {\n\tKey   string\n\tValue int\n\tTags  []string\n}\n\n")
	for i := range 200 {
		fmt.Fprintf(&sb, `// compute%[1]d builds a table for one key.
func compute%[1]d(key string, n int) []Row {
	rows := make([]Row, 0, n)
	for j := 0; j < n; j++ {
		rows = append(rows, Row{
			Key:   strings.Repeat(key, 1+j%%3),
			Value: j * %[1]d,
			Tags:  []string{key, fmt.Sprint(j)},
		})
	}
	if len(rows) > 1 && rows[0].Value > rows[1].Value {
		rows[0], rows[1] = rows[1], rows[0]
	}
	return rows
}

var cached%[1]d = cacheruntime.Func2(compute%[1]d)

func use%[1]d() int {
	total := 0
	for _, r := range cached%[1]d("k%[1]d", 4) {
		total += r.Value
	}
	return total
}

`, i)
	}
	sb.WriteString("func main() {\n\ttotal := 0\n")
	for i := range 200 {
		fmt.Fprintf(&sb, "\ttotal += use%d()\n", i)
	}
	sb.WriteString("\tfmt.Println(total)\n}\n")
	src := sb.String()
	dir := module(b, "big", map[string]string{"main.go": src})
	return workspace{dir: dir, file: filepath.Join(dir, "main.go"), hover: find(src, "cached100(\"k100\"", 1),
		editLine: lineOf(src, "\ttotal += use199()"), editText: "\tcached7(\"k\", 1)[0].Value = \"x\"\n"}
}

// packagesWorkspace: 50 packages, each importing up to three earlier ones,
// and a main package importing all; the edit is in main.
func packagesWorkspace(b *testing.B) workspace {
	files := map[string]string{}
	for i := range 50 {
		var imports, uses strings.Builder
		for _, j := range []int{i - 1, i - 7, i - 20} {
			if j >= 0 {
				fmt.Fprintf(&imports, "\t\"example.com/pkgs/p%02d\"\n", j)
				fmt.Fprintf(&uses, "\tn += len(p%02d.Load(s))\n", j)
			}
		}
		files[fmt.Sprintf("p%02d/p.go", i)] = fmt.Sprintf(`// Package p%02[1]d is one of fifty.
package p%02[1]d

import (
	"strings"

	"github.com/cachelens/cachelens/cacheruntime"
%[2]s)

// Item is what Load returns.
type Item struct {
	Name  string
	Score int
}

func load(s string) []Item {
	out := []Item{{Name: s, Score: len(s)}}
	for _, f := range strings.Fields(s) {
		out = append(out, Item{Name: f, Score: %[1]d})
	}
	return out
}

// Load is cached.
var Load = cacheruntime.Func1(load)

// Count uses the packages below.
func Count(s string) int {
	n := 0
%[3]s	return n + len(Load(s))
}
`, i, imports.String(), uses.String())
	}
	var imports, calls strings.Builder
	for i := range 50 {
		fmt.Fprintf(&imports, "\t\"example.com/pkgs/p%02d\"\n", i)
		fmt.Fprintf(&calls, "\ttotal += p%02d.Count(\"a b c\")\n", i)
	}
	mainSrc := fmt.Sprintf("package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/cachelens/cachelens/cacheruntime\"\n%s)\n\nfunc main() {\n\ttotal := 0\n%s\tfmt.Println(total)\n}\n", imports.String(), calls.String())
	files["main.go"] = mainSrc
	dir := module(b, "pkgs", files)
	return workspace{dir: dir, file: filepath.Join(dir, "main.go"), hover: find(mainSrc, "p10.Count", 5),
		editLine: lineOf(mainSrc, "\tfmt.Println(total)"), editText: "\tp03.Load(\"x\")[0].Score = \"high\"\n"}
}

func lineOf(src, sub string) int {
	for i, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, sub) || strings.Contains(l, sub) {
			return i
		}
	}
	panic("no line with " + sub)
}

func find(src, sub string, col int) lsptest.Position {
	for i, l := range strings.Split(src, "\n") {
		if c := strings.Index(l, sub); c >= 0 {
			return lsptest.Position{Line: i, Character: c + col}
		}
	}
	panic("no " + sub)
}

// session is one server working on one workspace.
type session struct {
	name string
	cmd  *exec.Cmd
	c    *lsptest.Client
	uri  string
	text string
	ver  int
	rt   string
	err  *bytes.Buffer
}

func startSession(b *testing.B, server string, ws workspace) *session {
	rt, _ := os.MkdirTemp("", "rt")
	os.Chmod(rt, 0o700)
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+rt, "GOCACHE="+goCache)
	args := []string{"serve", "-quiet"}
	if prof := os.Getenv("CACHELENS_BENCH_CPUPROFILE"); prof != "" {
		args = append(args, "-cpuprofile", prof+"."+filepath.Base(ws.dir))
	}
	if server == "gopls" {
		args = []string{"serve"}
	}
	cmd := exec.Command(bins[server], args...)
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &session{name: server, cmd: cmd, c: lsptest.New(stdout, stdin, stdin.Close), uri: "file://" + ws.file, rt: rt, err: &stderr}
	init := map[string]any{
		"processId":        os.Getpid(),
		"workspaceFolders": []any{map[string]string{"uri": "file://" + ws.dir, "name": "ws"}},
		"capabilities": map[string]any{
			"textDocument": map[string]any{"inlayHint": map[string]any{}, "codeLens": map[string]any{}, "hover": map[string]any{"contentFormat": []string{"markdown"}}},
		},
	}
	if server == "gopls" {
		init["initializationOptions"] = map[string]any{"hints": map[string]bool{"assignVariableTypes": true, "parameterNames": true, "rangeVariableTypes": true}}
	}
	if err := s.c.Call("initialize", init, nil); err != nil {
		b.Fatalf("%s initialize: %v\n%s", server, err, stderr.String())
	}
	s.c.Notify("initialized", map[string]any{})
	src, _ := os.ReadFile(ws.file)
	s.text = string(src)
	s.ver = 1
	s.c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": s.uri, "languageId": "go", "version": 1, "text": s.text}})
	// Ready: the first hover answers with content (the package is loaded).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var h map[string]any
		if err := s.c.Call("textDocument/hover", s.params(ws.hover), &h); err == nil && h != nil {
			break
		}
		if server != "gopls" {
			break // it has nothing to hover before a program ran
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s never became ready\n%s", server, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *session) params(p lsptest.Position) map[string]any {
	return map[string]any{"textDocument": map[string]string{"uri": s.uri}, "position": p}
}

func (s *session) stop() {
	s.c.Call("shutdown", nil, nil)
	s.c.Notify("exit", nil)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
	}
	os.RemoveAll(s.rt)
}

// rss returns the server's resident memory in MB.
func (s *session) rss() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// runProgram runs the workspace's program so cachelens has data to show.
func runProgram(b *testing.B, ws workspace, s *session) {
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+s.rt, "GOCACHE="+goCache)
	if err := sh(ws.dir, env, "go", "run", "."); err != nil {
		b.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	s.waitIdle(b)
}

// waitIdle waits until the machine has been idle for half a second (at
// least 90 % of its CPU time idle, /proc/stat): the requests are then
// timed in the steady state, for both servers alike — not while cachelens
// still analyses the package it was opened on (in its process and in the
// go list processes it starts), or gopls still indexes; either competes
// with the requests for the two cores.
func (s *session) waitIdle(b *testing.B) {
	deadline := time.Now().Add(2 * time.Minute)
	busy0, total0 := machineCPU(b)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		busy, total := machineCPU(b)
		if total > total0 && float64(busy-busy0) <= 0.1*float64(total-total0) {
			return
		}
		busy0, total0 = busy, total
	}
	b.Fatalf("%s: the machine never became idle\n%s", s.name, s.err.String())
}

// machineCPU returns the machine's busy and total CPU time, in clock
// ticks, from the first line of /proc/stat.
func machineCPU(b *testing.B) (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// latencies runs req b.N times and reports p50 and p99. Results are
// decoded only into raw JSON values (as a typed client would, without
// building maps), the same for both servers.
func latencies(b *testing.B, req func() error) {
	var ds []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := req(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	report(b, ds)
}

func report(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) float64 {
		i := int(float64(len(ds)-1) * p)
		return float64(ds[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// servers are the servers measured; LSPBENCH_BASE=path adds
// "cachelens-base", another build of cachelens, for A/B comparisons.
var servers = []string{"gopls", "cachelens"}

// BenchmarkRequests: codeLens, inlayHint and hover on the example program
// and on the 5,000-line file, after the program ran.
func BenchmarkRequests(b *testing.B) {
	setup(b)
	for _, wsName := range []string{"small", "big"} {
		var ws workspace
		if wsName == "small" {
			ws = smallWorkspace(b)
		} else {
			ws = bigWorkspace(b)
		}
		for _, server := range servers {
			s := startSession(b, server, ws)
			runProgram(b, ws, s)
			all := map[string]any{"textDocument": map[string]string{"uri": s.uri}, "range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": strings.Count(s.text, "\n"), "character": 0}}}
			lensParams := map[string]any{"textDocument": map[string]string{"uri": s.uri}}
			for _, r := range []struct {
				name   string
				params any
			}{{"codeLens", lensParams}, {"inlayHint", all}, {"hover", s.params(ws.hover)}} {
				method := "textDocument/" + r.name
				b.Run(fmt.Sprintf("file=%s/req=%s/server=%s", wsName, r.name, server), func(b *testing.B) {
					// The reply is parsed once, by the client's JSON-RPC
					// layer, as an editor parses it; its size is reported
					// because the servers answer different amounts (gopls
					// has no lenses for this file, cachelens has 200).
					var raw json.RawMessage
					if err := s.c.Call(method, r.params, &raw); err != nil {
						b.Fatal(err)
					}
					latencies(b, func() error { return s.c.Call(method, r.params, nil) })
					b.ReportMetric(float64(len(raw)), "reply-B")
				})
			}
			s.stop()
		}
	}
}

// BenchmarkDiagnostics: an edit that adds a line with a type error (gopls
// reports it) that also changes a cached result (cachelens reports that),
// then removes it; each op is one edit until the server publishes
// diagnostics for it. Also reports the server's memory.
func BenchmarkDiagnostics(b *testing.B) {
	setup(b)
	for _, wsName := range []string{"small", "pkgs"} {
		var ws workspace
		if wsName == "small" {
			ws = smallWorkspace(b)
		} else {
			ws = packagesWorkspace(b)
		}
		for _, server := range servers {
			s := startSession(b, server, ws)
			b.Run(fmt.Sprintf("ws=%s/server=%s", wsName, server), func(b *testing.B) {
				var ds []time.Duration
				added := false
				warm := 2 // untimed edits: the first publish means the load is done
				for warm > 0 || b.Loop() {
					s.ver++
					var change map[string]any
					if !added {
						change = map[string]any{"range": map[string]any{"start": map[string]int{"line": ws.editLine, "character": 0}, "end": map[string]int{"line": ws.editLine, "character": 0}}, "text": ws.editText}
					} else {
						change = map[string]any{"range": map[string]any{"start": map[string]int{"line": ws.editLine, "character": 0}, "end": map[string]int{"line": ws.editLine + 1, "character": 0}}, "text": ""}
					}
					want := !added
					added = !added
					t0 := time.Now()
					s.c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": s.uri, "version": s.ver}, "contentChanges": []any{change}})
					_, err := s.c.WaitDiagnostics(s.uri, 60*time.Second, func(d []lsptest.Diagnostic) bool {
						has := false
						for _, x := range d {
							if x.Range.Start.Line == ws.editLine {
								has = true
							}
						}
						return has == want
					})
					if err != nil {
						b.Fatalf("%s: %v\n%s", server, err, s.err.String())
					}
					if warm > 0 {
						warm--
						continue
					}
					ds = append(ds, time.Since(t0))
				}
				report(b, ds)
				b.ReportMetric(s.rss(), "rss-MB")
			})
			s.stop()
		}
	}
}
