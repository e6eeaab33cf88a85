package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	out, errOut, code := cachelens(t, t.TempDir(), "demo", "-fix", "-color=never")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"as your editor shows it after one run",
		"▸ cache · 8 hits · 3 misses (73%)",
		"▸ cache · 0 hits · 0 misses (0%) · 2 uncached",
		"[unhashable]", "[mutated]", "[runtime-hasherr]", "[runtime-mutation]",
		"fix: Hash Notifier by its hashable fields (Channel)",
		"+	applyDiscount(cacheruntime.Clone(loadCatalog(\"eu\")))",
		"The fixed copy builds.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Counts at the ends of lines.
	if !regexp.MustCompile(`loadCatalog\("eu"\)\s+◂ 4 hits · 1 miss`).MatchString(out) {
		t.Errorf("no hint on the loop's call:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour with -color=never")
	}
	// Progress went to stderr.
	if !strings.Contains(errOut, "building the example") || !strings.Contains(errOut, "running the static checks") {
		t.Errorf("progress:\n%s", errOut)
	}
	colored, _, _ := cachelens(t, t.TempDir(), "demo", "-color=always")
	if !strings.Contains(colored, "\x1b[35m▸ cache") {
		t.Error("no colour with -color=always")
	}
}
