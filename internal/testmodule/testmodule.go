// Package testmodule writes throwaway Go modules that use this
// repository's packages (through a replace directive), for the tests and
// benchmarks that load, build or run such programs.
package testmodule

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository's root directory.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testmodule: cannot tell where the repository is")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Write makes dir (created if needed) the module named module with the
// given files (paths relative to dir), requiring this repository, and
// runs go mod tidy. The repository's go.sum is copied in first, so tidy
// needs no network for what the repository already uses.
func Write(t testing.TB, dir, module string, files map[string]string) {
	t.Helper()
	root := Root(t)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"go.mod": "module " + module + "\n\ngo 1.26\n\nrequire github.com/cachelens/cachelens v0.0.0\n\nreplace github.com/cachelens/cachelens => " + root + "\n",
		"go.sum": string(sum),
	}
	for name, content := range files {
		all[name] = content
	}
	for name, content := range all {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = dir
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in %s: %v\n%s", dir, err, out)
	}
}

// New writes the module into a new temporary directory, removed when the
// test ends, and returns the directory with symbolic links resolved (the
// server compares the paths programs report with it).
func New(t testing.TB, module string, files map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cachelens-mod")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		t.Fatal(err)
	}
	Write(t, dir, module, files)
	return dir
}
