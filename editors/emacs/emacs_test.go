// Package emacs tests cachelens.el in a real Emacs (batch mode) with
// Debian's lsp-mode and go-mode.
package emacs

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cachelens/cachelens/editors/internal/editortest"
)

// TestLSPMode runs test/e2e.el: the add-on client starts for a Go
// buffer, diagnostics arrive, a quick fix applies through lsp-mode, the
// program runs, and lsp-mode shows the lenses after the server's refresh.
func TestLSPMode(t *testing.T) {
	emacs := editortest.Require(t, "emacs", "CACHELENS_REQUIRE_EMACS")
	e := editortest.Setup(t, "emacs")
	var r struct {
		editortest.Result
		Emacs, Lsp, Mode string
	}
	e.Run(t, exec.Command(emacs, "--batch", "-Q", "-l", filepath.Join(e.Root, "editors", "emacs", "test", "e2e.el")), &r)
	t.Logf("%s: steps %v; lenses %+v", r.Lsp, r.Steps, r.Lenses)
	if r.Mode != "go-mode" {
		t.Errorf("major mode %q", r.Mode)
	}
	e.Check(t, &r.Result)
}
