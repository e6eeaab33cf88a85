package codeactions

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"a\n", "b\n", "c\n", "func f() {}\n", "\n", "x := 1\n"}
	gen := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	for range 500 {
		old := gen(rng.IntN(30))
		new := gen(rng.IntN(30))
		if rng.IntN(3) == 0 {
			new = old[:len(old)/2] + gen(2) + old[len(old)/2:]
		}
		edits := diffEdits("f.go", []byte(old), []byte(new))
		got, err := Apply([]byte(old), edits)
		if err != nil || string(got) != new {
			t.Fatalf("Diff(%q, %q) = %+v applies to %q (%v)", old, new, edits, got, err)
		}
	}
}

func TestRewriteAddsImportAndFormats(t *testing.T) {
	src := "package p\n\nimport \"fmt\"\n\nfunc f() {\n\tfmt.Println(1)\n}\n"
	i := strings.Index(src, "1)")
	edits, err := rewrite("p.go", []byte(src), []Edit{{File: "p.go", Start: i, End: i + 1, New: "strings.Repeat(\"x\",2)"}},
		[]Import{{Path: "strings"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Apply([]byte(src), edits)
	want := "package p\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\nfunc f() {\n\tfmt.Println(strings.Repeat(\"x\", 2))\n}\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if len(edits) != 2 {
		t.Errorf("want 2 separate edits (import, call), got %+v", edits)
	}
	if _, err := rewrite("p.go", []byte(src), []Edit{{File: "p.go", Start: i, End: i + 1, New: "("}}, nil); err == nil {
		t.Error("an edit that breaks the syntax was accepted")
	}
}

func TestUnified(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\n"
	new := "a\nb\nC\nd\ne\nf\ng\nh\n"
	got := Unified("x.go", []byte(old), []byte(new), 1)
	want := "--- x.go\n+++ x.go (fixed)\n@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n@@ -7,1 +7,2 @@\n g\n+h\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if Unified("x.go", []byte(old), []byte(old), 3) != "" {
		t.Fatal("no change should print nothing")
	}
}

func TestUnifiedMergesNearbyChanges(t *testing.T) {
	old := "1\n2\n3\n4\n5\n6\n7\n8\n9\n"
	new := "1\n2\nX\n4\nY\n6\n7\n8\n9\n"
	got := Unified("f", []byte(old), []byte(new), 1)
	want := "--- f\n+++ f (fixed)\n@@ -2,5 +2,5 @@\n 2\n-3\n+X\n 4\n-5\n+Y\n 6\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
