// Package nvim tests the Neovim plugin in a real, headless Neovim.
package nvim

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cachelens/cachelens/editors/internal/editortest"
)

// TestNeovim runs test/e2e.lua in headless Neovim: diagnostics, a quick
// fix through Neovim's code action flow, a run of the program, and the
// code lenses the server's refresh request brings.
func TestNeovim(t *testing.T) {
	nvim := editortest.Require(t, "nvim", "CACHELENS_REQUIRE_NVIM")
	e := editortest.Setup(t, "nvim")
	var r struct {
		editortest.Result
		Filetype string
		Nvim     string
	}
	e.Run(t, exec.Command(nvim, "--headless", "-n", "-i", "NONE", "-u", filepath.Join(e.Root, "editors", "nvim", "test", "e2e.lua")), &r)
	t.Logf("Neovim %s: steps %v", r.Nvim, r.Steps)
	if r.Filetype != "go" {
		t.Errorf("filetype %q", r.Filetype)
	}
	e.Check(t, &r.Result)
}
