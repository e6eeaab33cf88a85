package mutated_test

import (
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/mutated"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, golden.Testdata(t), mutated.Analyzer, "mutated/a")
}

func TestAcrossPackages(t *testing.T) {
	golden.RunWithSuggestedFixes(t, mutated.Analyzer, "mutated/user")
}

func TestFixes(t *testing.T) {
	golden.RunWithSuggestedFixes(t, mutated.Analyzer, "mutated/fixes")
}
