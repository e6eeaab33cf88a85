package cacheruntime_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly: importing cacheruntime pulls in no other module.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/cachelens/cachelens/") {
			t.Errorf("cacheruntime depends on %s", p)
		}
	}
	mods, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, mods)
	}
	for _, m := range strings.Fields(string(mods)) {
		if m != "github.com/cachelens/cachelens" {
			t.Errorf("cacheruntime pulls in module %s", m)
		}
	}
}
