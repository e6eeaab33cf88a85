package hiddeninput_test

import (
	"testing"

	"github.com/cachelens/cachelens/diagnostics/hiddeninput"
	"github.com/cachelens/cachelens/diagnostics/internal/golden"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, golden.Testdata(t), hiddeninput.Analyzer, "hiddeninput/a")
}
