package diagnostics_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
	"golang.org/x/tools/go/analysis"
)

// gopathEnv is the environment for the GOPATH-style testdata tree at dir.
func gopathEnv(dir string) []string {
	return append(os.Environ(), "GOPATH="+dir, "GO111MODULE=off", "GOWORK=off", "GOFLAGS=")
}

// analyze runs one analyzer over a package of the tree (with the driver
// the language server and the command line use) and returns its
// diagnostics with their fixes as edits to files named relative to dir.
func analyze(t *testing.T, dir string, a *analysis.Analyzer, pkg string) []fixDiag {
	t.Helper()
	prog, err := driver.Load(context.Background(), driver.Config{Dir: filepath.Join(dir, "src"), Patterns: []string{pkg}, Env: gopathEnv(dir)})
	if err != nil {
		t.Fatal(err)
	}
	res := prog.Run([]*analysis.Analyzer{a})
	for _, err := range res.Errors {
		t.Errorf("%s: %v", pkg, err)
	}
	var out []fixDiag
	for _, f := range res.Findings {
		fd := fixDiag{message: f.Message}
		for _, fix := range f.Fixes {
			var edits []codeactions.Edit
			norm, err := codeactions.NormalizeFix(os.ReadFile, fix.Edits)
			if err != nil {
				t.Errorf("%s: fix %q does not normalize: %v", pkg, fix.Message, err)
				continue
			}
			for _, e := range norm {
				rel, _ := filepath.Rel(dir, e.File)
				e.File = rel
				edits = append(edits, e)
			}
			fd.fixes = append(fd.fixes, namedFix{fix.Message, edits})
		}
		out = append(out, fd)
	}
	return out
}

type fixDiag struct {
	message string
	fixes   []namedFix
}

type namedFix struct {
	message string
	edits   []codeactions.Edit
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(path, ".golden") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func build(dir, pkg string) error {
	cmd := exec.Command("go", "build", "-o", os.DevNull, pkg)
	cmd.Dir = filepath.Join(dir, "src")
	cmd.Env = gopathEnv(dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// TestFixesBuild applies every suggested fix, one at a time, to a copy of
// the testdata; the result must be gofmt-formatted, build, and no longer
// have the diagnostic the fix was for.
func TestFixesBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every fixed package")
	}
	src, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		a   *analysis.Analyzer
		pkg string
	}{}
	for _, a := range diagnostics.Analyzers() {
		for _, p := range []string{"a", "fixes", "user"} {
			if _, err := os.Stat(filepath.Join(src, "src", a.Name, p)); err == nil {
				cases = append(cases, struct {
					a   *analysis.Analyzer
					pkg string
				}{a, a.Name + "/" + p})
			}
		}
	}
	// The checks that offer no fix: what is wrong there is for the
	// programmer to decide.
	noFixes := map[string]bool{"hiddeninput": true, "unencodable": true}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, c := range cases {
		if err := build(src, c.pkg); err != nil {
			t.Fatalf("%s does not build before any fix: %v", c.pkg, err)
		}
		diags := analyze(t, src, c.a, c.pkg)
		nfix := 0
		for _, d := range diags {
			nfix += len(d.fixes)
		}
		if !noFixes[c.a.Name] && nfix == 0 {
			t.Errorf("%s: no fixes to test (%d diagnostics)", c.pkg, len(diags))
		}
		t.Logf("%s: %d diagnostics, %d fixes", c.pkg, len(diags), nfix)
		for di, d := range diags {
			for fi, f := range d.fixes {
				name := fmt.Sprintf("%s/%d.%d %q", c.pkg, di, fi, f.message)
				// Each fix is a subtest (which may stop with t.Fatal),
				// run from goroutines, four at a time: the builds wait on
				// processes more than on the CPU. t.Run may be called
				// from several goroutines; all return before this test.
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					t.Run(name, func(t *testing.T) {
						dir := t.TempDir()
						copyTree(t, src, dir)
						byFile := map[string][]codeactions.Edit{}
						for _, e := range f.edits {
							byFile[e.File] = append(byFile[e.File], e)
						}
						for file, edits := range byFile {
							path := filepath.Join(dir, file)
							data, err := os.ReadFile(path)
							if err != nil {
								t.Error(name, err)
								return
							}
							out, err := codeactions.Apply(data, edits)
							if err != nil {
								t.Error(name, err)
								return
							}
							os.WriteFile(path, out, 0o644)
							if gofmt, err := exec.Command("gofmt", "-l", path).Output(); err != nil || len(gofmt) > 0 {
								t.Errorf("%s: %s is not gofmt-formatted after the fix", name, file)
							}
						}
						if err := build(dir, c.pkg); err != nil {
							t.Errorf("%s: does not build after the fix: %v", name, err)
							return
						}
						before, after := 0, 0
						for _, x := range diags {
							if x.message == d.message {
								before++
							}
						}
						for _, x := range analyze(t, dir, c.a, c.pkg) {
							if x.message == d.message {
								after++
							}
						}
						if after >= before {
							t.Errorf("%s: the diagnostic %q is still reported after the fix", name, d.message)
						}
					})
				}()
			}
		}
	}
	wg.Wait()
}
