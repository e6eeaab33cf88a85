package percall_test

import (
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/percall"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, golden.Testdata(t), percall.Analyzer, "percall/a")
}

func TestFixes(t *testing.T) {
	golden.RunWithSuggestedFixes(t, percall.Analyzer, "percall/fixes")
}
