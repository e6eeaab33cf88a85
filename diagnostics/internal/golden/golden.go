// Package golden writes the .golden files analysistest.RunWithSuggestedFixes
// compares against, for review: run a fix test with -update, read the
// diff, commit. It groups fixes by message and applies each group to each
// file, as analysistest does (a txtar section per fix message).
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/cachelens/cachelens/codeactions"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the .golden files of suggested-fix tests")

// Testdata returns the GOPATH-style tree the analyzers' tests share
// (diagnostics/testdata).
func Testdata(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("golden: cannot tell where the testdata is")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// RunWithSuggestedFixes checks the analyzer's diagnostics and its fixes
// against the .golden files for the packages matching patterns in
// Testdata, rewriting those files first when the test runs with -update.
func RunWithSuggestedFixes(t *testing.T, a *analysis.Analyzer, patterns ...string) {
	t.Helper()
	dir := Testdata(t)
	Update(t, dir, a, patterns...)
	analysistest.RunWithSuggestedFixes(t, dir, a, patterns...)
}

// Update rewrites the golden files for the packages matching patterns in
// the GOPATH-style tree dir, when the test runs with -update.
func Update(t *testing.T, dir string, a *analysis.Analyzer, patterns ...string) {
	if !*update {
		return
	}
	cfg := &packages.Config{
		Mode: packages.LoadAllSyntax | packages.NeedModule,
		Dir:  dir,
		Env:  append(os.Environ(), "GOPATH="+dir, "GO111MODULE=off", "GOWORK=off"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := checker.Analyze([]*analysis.Analyzer{a}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	// file → message → edits
	byFile := map[string]map[string][]codeactions.Edit{}
	for act := range g.All() {
		if !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			for _, fix := range d.SuggestedFixes {
				for _, e := range fix.TextEdits {
					tf := act.Package.Fset.File(e.Pos)
					m := byFile[tf.Name()]
					if m == nil {
						m = map[string][]codeactions.Edit{}
						byFile[tf.Name()] = m
					}
					m[fix.Message] = append(m[fix.Message], codeactions.Edit{File: tf.Name(), Start: tf.Offset(e.Pos), End: tf.Offset(e.End), New: string(e.NewText)})
				}
			}
		}
	}
	for file, msgs := range byFile {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ar := &txtar.Archive{}
		keys := make([]string, 0, len(msgs))
		for k := range msgs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, msg := range keys {
			edits, err := codeactions.NormalizeFix(os.ReadFile, dedup(msgs[msg]))
			if err != nil {
				t.Fatalf("%s: fix %q: %v", file, msg, err)
			}
			out, err := codeactions.Apply(src, edits)
			if err != nil {
				t.Fatalf("%s: fix %q: %v", file, msg, err)
			}
			ar.Files = append(ar.Files, txtar.File{Name: msg, Data: out})
		}
		if err := os.WriteFile(file+".golden", txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", filepath.Base(file)+".golden")
	}
}

// dedup drops identical edits (two diagnostics may offer the same import).
func dedup(edits []codeactions.Edit) []codeactions.Edit {
	var out []codeactions.Edit
	for _, e := range edits {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}
