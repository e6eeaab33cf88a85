// Package editortest is what the editor end-to-end tests share: a built
// cachelens binary, the example program in a module of its own, a private
// runtime directory, and the check that the code lenses an editor shows
// carry the counts the program printed.
package editortest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachelens/cachelens/internal/testmodule"
)

// Env is one prepared run.
type Env struct {
	Root   string // the repository
	Bin    string // the cachelens binary
	Module string // the example's module directory
	Main   string // its main.go
	Home   string // an empty home for the editor's files
	Log    string // the server's log file
	Result string // where the editor script writes its Result
	// Vars are the environment the editor runs with: the example, the
	// binary, the result file, and XDG directories of its own, so that
	// the program it runs finds only this test's server.
	Vars []string
}

// Setup builds the binary and writes the example module. editor names the
// editor's folder under editors/.
func Setup(t *testing.T, editor string) *Env {
	t.Helper()
	root := testmodule.Root(t)
	tmp := t.TempDir()
	e := &Env{Root: root, Bin: filepath.Join(tmp, "cachelens"), Module: filepath.Join(tmp, "catalog"),
		Home: filepath.Join(tmp, "home"), Log: filepath.Join(tmp, "server.log"), Result: filepath.Join(tmp, "result.json")}
	if out, err := exec.Command("go", "build", "-o", e.Bin, filepath.Join(root, "cmd", "cachelens")).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	e.Main = filepath.Join(e.Module, "main.go")
	src, err := os.ReadFile(filepath.Join(root, "example", "catalog", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	testmodule.Write(t, e.Module, "example.com/catalog", map[string]string{"main.go": string(src)})
	// A short path: socket paths are limited to about 100 bytes.
	rt, err := os.MkdirTemp("", "clrt")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(rt, 0o700)
	t.Cleanup(func() { os.RemoveAll(rt) })
	e.Vars = append(os.Environ(),
		"HOME="+e.Home, "XDG_RUNTIME_DIR="+rt, "XDG_CONFIG_HOME="+filepath.Join(e.Home, "config"),
		"XDG_DATA_HOME="+filepath.Join(e.Home, "data"), "XDG_STATE_HOME="+filepath.Join(e.Home, "state"),
		"XDG_CACHE_HOME="+filepath.Join(e.Home, "cache"),
		"CACHELENS_PLUGIN="+filepath.Join(root, "editors", editor), "CACHELENS_BIN="+e.Bin, "CACHELENS_LOG="+e.Log,
		"CACHELENS_MAIN="+e.Main, "CACHELENS_RESULT="+e.Result, "CACHELENS_HOME="+e.Home)
	if gocache, err := exec.Command("go", "env", "GOCACHE", "GOPATH").Output(); err == nil {
		// Keep the user's build cache and module cache with the new HOME.
		lines := strings.Fields(string(gocache))
		if len(lines) == 2 {
			e.Vars = append(e.Vars, "GOCACHE="+lines[0], "GOPATH="+lines[1])
		}
	}
	return e
}

// Result is what an editor script reports.
type Result struct {
	Error       string
	Steps       []string
	Diagnostics []struct {
		Code, Message, Source string
		Line                  int
	}
	Offered []string
	Program string
	Lenses  []struct {
		Line  int
		Title string
	}
	Status string
}

// Run starts cmd (an editor running its test script) with e.Vars, waits
// up to five minutes, and decodes the result file into r, which embeds
// Result. It fails the test if the script reported an error.
func (e *Env) Run(t *testing.T, cmd *exec.Cmd, r any) {
	t.Helper()
	cmd.Dir = e.Module
	cmd.Env = e.Vars
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("%s: %v\n%s", cmd.Path, err, out.String())
		}
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish\n%s", cmd.Path, out.String())
	}
	log, _ := os.ReadFile(e.Log)
	data, err := os.ReadFile(e.Result)
	if err != nil {
		t.Fatalf("no result: %v\neditor output:\n%s\nserver log:\n%s", err, out.String(), log)
	}
	if err := json.Unmarshal(data, r); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	var base Result
	json.Unmarshal(data, &base)
	if base.Error != "" {
		t.Fatalf("%s (steps done: %v)\nresult: %s\neditor output:\n%s\nserver log:\n%s", base.Error, base.Steps, data, out.String(), log)
	}
}

var cacheLine = regexp.MustCompile(`(?m)^(\S+)\s+(\d+) hits\s+(\d+) misses\s+(\d+) uncached\s+\((\d+)% hit rate`)

// Check asserts what every editor must have shown: diagnostics from the
// cachelens source, and for each of the example's three caches a lens
// with the hits and misses the program printed, on the line (1-based)
// that defines a cache.
func (e *Env) Check(t *testing.T, r *Result) {
	t.Helper()
	src, err := os.ReadFile(e.Main)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for _, l := range r.Lenses {
		if l.Line < 1 || l.Line > len(lines) || !strings.Contains(lines[l.Line-1], "cacheruntime.Func") {
			t.Errorf("lens %q on line %d, which defines no cache", l.Title, l.Line)
		}
	}
	if len(r.Diagnostics) == 0 {
		t.Error("no diagnostics")
	}
	for _, d := range r.Diagnostics {
		if d.Source != "cachelens" {
			t.Errorf("diagnostic source %q", d.Source)
		}
	}
	matches := cacheLine.FindAllStringSubmatch(r.Program, -1)
	if len(matches) != 3 {
		t.Fatalf("program output:\n%s", r.Program)
	}
	for _, m := range matches {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		want := fmt.Sprintf("cache · %d %s · %d %s (%s%%)", h, plural(h, "hit", "hits"), mi, plural(mi, "miss", "misses"), m[5])
		found := false
		for _, l := range r.Lenses {
			if strings.HasPrefix(l.Title, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no lens %q among %+v", want, r.Lenses)
		}
	}
	if !strings.HasPrefix(r.Status, "cachelens: ") {
		t.Errorf("status line %q", r.Status)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Require finds an editor's binary. Without it the test skips, unless
// the variable named by require is set (CI sets it after installing the
// editor), where it fails.
func Require(t *testing.T, binary, require string) string {
	t.Helper()
	p, err := exec.LookPath(binary)
	if err != nil {
		if os.Getenv(require) != "" {
			t.Fatalf("%s is not installed (.ci/run installs it from Debian's packages)", binary)
		}
		t.Skipf("%s is not installed; set %s to make that an error", binary, require)
	}
	return p
}
