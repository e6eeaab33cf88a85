package percall_test

import (
	"path/filepath"
	"testing"

	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"github.com/cachelens/cachelens/diagnostics/percall"
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
	analysistest.Run(t, testdata(t), percall.Analyzer, "percall/a")
}

func TestFixes(t *testing.T) {
	golden.Update(t, testdata(t), percall.Analyzer, "percall/fixes")
	analysistest.RunWithSuggestedFixes(t, testdata(t), percall.Analyzer, "percall/fixes")
}
