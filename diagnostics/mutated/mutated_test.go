package mutated_test

import (
	"path/filepath"
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/mutated"
	"golang.org/x/tools/go/analysis/analysistest"
)

func testdata(t *testing.T) string {
	d, err := filepath.Abs("../testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, testdata(t), mutated.Analyzer, "mutated/a")
}

func TestAcrossPackages(t *testing.T) {
	golden.Update(t, testdata(t), mutated.Analyzer, "mutated/user")
	analysistest.RunWithSuggestedFixes(t, testdata(t), mutated.Analyzer, "mutated/user")
}

func TestFixes(t *testing.T) {
	golden.Update(t, testdata(t), mutated.Analyzer, "mutated/fixes")
	analysistest.RunWithSuggestedFixes(t, testdata(t), mutated.Analyzer, "mutated/fixes")
}
