package typedfunc_test

import (
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/typedfunc"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, golden.Testdata(t), typedfunc.Analyzer, "typedfunc/a")
}

func TestFixes(t *testing.T) {
	golden.RunWithSuggestedFixes(t, typedfunc.Analyzer, "typedfunc/fixes")
}
