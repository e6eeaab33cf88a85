// Package checkbench times `cachelens check ./...` side by side with
// `go vet ./...` on this repository and on golang.org/x/tools (a public
// module of a couple of hundred packages), and reports their peak memory.
// See docs/benchmarks.md.
package checkbench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// xtools is the public module measured beside this repository.
const xtools = "golang.org/x/tools@v0.52.0"

var (
	setupOnce sync.Once
	setupErr  error
	binary    string
	modules   = map[string]string{} // name → directory
	seq       int
	// nonce makes go vet's analyzer flag values differ between benchmark
	// processes too (seq restarts at 1 in each): a value an earlier process
	// used would hit go vet's result cache.
	nonce = fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano())
)

// edited is the file the edit benchmarks change, per module: a package few
// others import, as when working on a command.
var edited = map[string]string{
	"cachelens": "cmd/cachelens/main.go",
	"x-tools":   "cmd/stringer/stringer.go",
}

// edit appends a comment line to the module's edited file: a one-file
// change that invalidates that package's results (and its importers').
func edit(mod string) {
	f, err := os.OpenFile(filepath.Join(modules[mod], edited[mod]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		panic(err) // the measurement would be of nothing
	}
	seq++
	fmt.Fprintf(f, "\n// checkbench edit %s %d\n", nonce, seq)
	f.Close()
}

func sh(dir string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func setup(b *testing.B) {
	setupOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "checkbench")
		if err != nil {
			setupErr = err
			return
		}
		root, _ := filepath.Abs("../..")
		binary = filepath.Join(tmp, "cachelens")
		if setupErr = sh(root, "go", "build", "-o", binary, "./cmd/cachelens"); setupErr != nil {
			return
		}
		// This repository at HEAD, copied, so that the edit benchmarks can
		// change a file.
		cl := filepath.Join(tmp, "cachelens")
		cl += "-src"
		if setupErr = os.MkdirAll(cl, 0o755); setupErr != nil {
			return
		}
		if setupErr = sh(root, "sh", "-c", "git archive --format=tar HEAD | tar -x -C "+cl); setupErr != nil {
			return
		}
		modules["cachelens"] = cl
		// golang.org/x/tools, copied out of the module cache so it can be
		// built and checked like any checkout.
		out, err := exec.Command("go", "mod", "download", "-json", xtools).Output()
		if err != nil {
			setupErr = fmt.Errorf("downloading %s: %v", xtools, err)
			return
		}
		var info struct{ Dir string }
		if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
			setupErr = fmt.Errorf("downloading %s: %v %s", xtools, err, out)
			return
		}
		xt := filepath.Join(tmp, "x-tools")
		if setupErr = sh(tmp, "cp", "-r", info.Dir, xt); setupErr != nil {
			return
		}
		if setupErr = sh(tmp, "chmod", "-R", "u+w", xt); setupErr != nil {
			return
		}
		if setupErr = sh(xt, "go", "mod", "download"); setupErr != nil {
			return
		}
		modules["x-tools"] = xt
		// Warm the build cache for both tools (export data, compiled
		// dependencies), so runs measure analysis.
		for _, dir := range modules {
			sh(dir, "go", "vet", "./...")
			sh(dir, binary, "check", "-cache=false", "./...")
		}
	})
	if setupErr != nil {
		b.Fatal(setupErr)
	}
}

// run times one command and returns its peak resident memory in MB.
func run(b *testing.B, dir, name string, args ...string) float64 {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil // findings
	}
	if err != nil {
		b.Fatalf("%s %v: %v", name, args, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(ru.Maxrss) / 1024
}

// BenchmarkCheck: tool=go-vet and tool=cachelens analyze every package
// (go vet's per-package result cache is bypassed with a fresh analyzer
// flag value each time; cachelens runs with -cache=false); the -cached
// variants rerun on unchanged code, as in CI; the -edit variants rerun
// after a one-line change to one file (each with its result cache).
func BenchmarkCheck(b *testing.B) {
	setup(b)
	for _, mod := range []string{"cachelens", "x-tools"} {
		dir := modules[mod]
		tools := []struct {
			name string
			args func() (string, []string)
		}{
			{"go-vet", func() (string, []string) {
				seq++
				return "go", []string{"vet", fmt.Sprintf("-printf.funcs=checkbench%s_%d", nonce, seq), "./..."}
			}},
			{"cachelens", func() (string, []string) { return binary, []string{"check", "-cache=false", "./..."} }},
			{"go-vet-cached", func() (string, []string) { return "go", []string{"vet", "./..."} }},
			{"cachelens-cached", func() (string, []string) { return binary, []string{"check", "./..."} }},
			{"go-vet-edit", func() (string, []string) { edit(mod); return "go", []string{"vet", "./..."} }},
			{"cachelens-edit", func() (string, []string) { edit(mod); return binary, []string{"check", "./..."} }},
		}
		for _, tool := range tools {
			b.Run("module="+mod+"/tool="+tool.name, func(b *testing.B) {
				if strings.HasSuffix(tool.name, "-cached") || strings.HasSuffix(tool.name, "-edit") {
					name, args := tool.args()
					run(b, dir, name, args...) // fill the cache
				}
				var peak float64
				for b.Loop() {
					name, args := tool.args()
					peak = max(peak, run(b, dir, name, args...))
				}
				b.ReportMetric(peak, "peak-MB")
			})
		}
	}
}
