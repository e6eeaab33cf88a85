package hiddeninput_test

import (
	"path/filepath"
	"testing"

	"github.com/cachelens/cachelens/diagnostics/hiddeninput"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	dir, err := filepath.Abs("../testdata")
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, hiddeninput.Analyzer, "hiddeninput/a")
}
