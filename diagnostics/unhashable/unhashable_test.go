package unhashable_test

import (
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/unhashable"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, golden.Testdata(t), unhashable.Analyzer, "unhashable/a")
}

func TestFixes(t *testing.T) {
	golden.RunWithSuggestedFixes(t, unhashable.Analyzer, "unhashable/fixes")
}
