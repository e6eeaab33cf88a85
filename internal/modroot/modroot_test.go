package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// a comment\nmodule \"example.com/m\"\n\ngo 1.26\n"), 0o600)
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o700)
	if root, path := Find(sub); root != dir || path != "example.com/m" {
		t.Errorf("Find = %q, %q", root, path)
	}
	if Of(sub, "example.com/m") != dir || Of(sub, "example.com/other") != "" {
		t.Error("Of")
	}
	// The nearest go.mod decides: a module nested in another is its own.
	os.WriteFile(filepath.Join(sub, "go.mod"), []byte("module example.com/m/a/b\n"), 0o600)
	if Of(sub, "example.com/m") != "" {
		t.Error("the outer module claimed a nested module's directory")
	}
	if root, path := Find("/"); root != "" || path != "" {
		t.Errorf("no module: %q, %q", root, path)
	}
}
