package codeprint

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const base = `package main

import (
	"strings"

	"example.com/m/helper"
)

const (
	a = iota
	b
)

var table = map[string]int{"x": 1}

type item struct{ Name string }

// load is the cached function.
func load(s string) item {
	n := normalize(s) + helper.Suffix()
	return item{Name: n + strings.Repeat("!", b)}
}

func normalize(s string) string { return strings.ToLower(s) }

func unrelated() int { return table["x"] }

func main() {
	f := func(x int) int { return x * a }
	_ = f
}
`

const helperSrc = `package helper

func Suffix() string { return tail }

const tail = "-h"

func Other() string { return "o" }
`

// sum fingerprints the function at line in main.go of a module made of
// base with the edits applied.
func sum(t *testing.T, name string, line int, edits ...string) Print {
	t.Helper()
	dir := t.TempDir()
	src, helper := base, helperSrc
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(src+helper, edits[i]) {
			t.Fatalf("no %q to edit", edits[i])
		}
		src = strings.Replace(src, edits[i], edits[i+1], 1)
		helper = strings.Replace(helper, edits[i], edits[i+1], 1)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600)
	os.MkdirAll(filepath.Join(dir, "helper"), 0o700)
	os.WriteFile(filepath.Join(dir, "helper", "helper.go"), []byte(helper), 0o600)
	s, err := fromSource(name, filepath.Join(dir, "main.go"), line, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.print()
}

func lineOf(s string) int {
	return strings.Count(base[:strings.Index(base, s)], "\n") + 1
}

func TestWhatChangesTheFingerprint(t *testing.T) {
	fn := lineOf("func load(")
	orig := sum(t, "main.load", fn)
	if !strings.Contains(orig.Basis, "main.go") {
		t.Errorf("Basis = %q", orig.Basis)
	}
	for _, tc := range []struct {
		name    string
		edits   []string
		changes bool
	}{
		{"nothing", nil, false},
		{"a comment", []string{"// load is the cached function.", "// load loads."}, false},
		{"a comment inside", []string{"helper.Suffix()\n", "helper.Suffix() // why\n"}, false},
		{"layout", []string{"return item{Name: n + strings.Repeat(\"!\", b)}", "return item{\n\t\tName: n + strings.Repeat(\"!\", b),\n\t}"}, false},
		{"an unrelated function", []string{`return table["x"]`, `return table["x"] + 1`}, false},
		{"another function in the helper package", []string{`return "o"`, `return "p"`}, false},
		{"the body", []string{`strings.Repeat("!", b)`, `strings.Repeat("?", b)`}, true},
		{"a function it calls", []string{"strings.ToLower(s)", "strings.ToUpper(s)"}, true},
		{"a constant it uses (iota block)", []string{"a = iota", "z = iota\n\ta"}, true},
		{"a type it uses", []string{"type item struct{ Name string }", "type item struct{ Name, Kind string }"}, true},
		{"a function of the module's other package", []string{"func Suffix() string { return tail }", "func Suffix() string { return tail + tail }"}, true},
		{"a constant that function uses", []string{`const tail = "-h"`, `const tail = "-i"`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The edits may move load: find it again.
			line := fn
			if len(tc.edits) > 0 && strings.Index(base, tc.edits[0]) < strings.Index(base, "func load(") {
				line += strings.Count(tc.edits[1], "\n") - strings.Count(tc.edits[0], "\n")
			}
			got := sum(t, "main.load", line, tc.edits...)
			if (got.Sum != orig.Sum) != tc.changes {
				t.Errorf("changed = %v, want %v", got.Sum != orig.Sum, tc.changes)
			}
		})
	}
}

func TestClosure(t *testing.T) {
	line := lineOf("f := func(x int)")
	orig := sum(t, "main.main.func1", line)
	if got := sum(t, "main.main.func1", line, "return x * a", "return x * b"); got.Sum == orig.Sum {
		t.Error("editing the closure kept its fingerprint")
	}
	if got := sum(t, "main.main.func1", line, "_ = f", "_ = f\n\tprintln()"); got.Sum != orig.Sum {
		t.Error("editing around the closure changed its fingerprint")
	}
}

// A function whose source is gone is fingerprinted by the executable.
func TestNoSource(t *testing.T) {
	if _, err := fromSource("main.x", filepath.Join(t.TempDir(), "gone.go"), 3, nil); err == nil {
		t.Fatal("no error for a missing file")
	}
	keep := t.TempDir()
	p := executable("source gone", keep)
	if p.Sum == 0 || !strings.Contains(p.Basis, "executable") {
		t.Errorf("executable() = %+v", p)
	}
	// Kept for the next process: a record beside the fingerprints.
	exeSums.Delete(keep)
	if ents, _ := os.ReadDir(keep); len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "exe-") {
		t.Fatalf("kept: %v", ents)
	}
	if q := executable("source gone", keep); q != p {
		t.Errorf("from the record: %+v, want %+v", q, p)
	}
}

func helperForOf() int { return 42 }

// Of reads the function's own source through the binary's line table.
func TestOf(t *testing.T) {
	p := Of(reflect.ValueOf(helperForOf).Pointer(), nil, "")
	if !strings.Contains(p.Basis, "codeprint_test.go") {
		t.Fatalf("Of = %+v", p)
	}
	if q := Of(reflect.ValueOf(helperForOf).Pointer(), nil, ""); q != p {
		t.Errorf("not deterministic: %+v, %+v", p, q)
	}
	if r := Of(reflect.ValueOf(TestOf).Pointer(), nil, ""); r.Sum == p.Sum {
		t.Error("two functions share a fingerprint")
	}
	// A source newer than the executable is not what it was built from.
	old := Of(reflect.ValueOf(helperForOf).Pointer(), func(time.Time) bool { return false }, "")
	if !strings.Contains(old.Basis, "executable") || !strings.Contains(old.Basis, "newer than the executable") {
		t.Errorf("with sources newer than the executable: %+v", old)
	}
}

// A kept fingerprint is used while its files are unchanged and computed
// again when one changes, is removed, or is newer than the executable.
func TestKept(t *testing.T) {
	dir := t.TempDir()
	keep := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(base), 0o600)
	os.MkdirAll(filepath.Join(dir, "helper"), 0o700)
	helper := filepath.Join(dir, "helper", "helper.go")
	os.WriteFile(helper, []byte(helperSrc), 0o600)
	file, line := filepath.Join(dir, "main.go"), lineOf("func load(")
	src, err := fromSource("main.load", file, line, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Files) != 2 {
		t.Fatalf("files read: %+v", src.Files)
	}
	save(keep, src)
	got, ok := cached(keep, "main.load", file, line, nil)
	if !ok || got.print() != src.print() {
		t.Fatalf("kept %v: %+v, want %+v", ok, got, src)
	}
	if _, ok := cached(keep, "main.other", file, line, nil); ok {
		t.Error("another function's record was used")
	}
	if _, ok := cached(keep, "main.load", file, line, func(time.Time) bool { return false }); ok {
		t.Error("a record of files newer than the executable was used")
	}
	// An edit to a file it read (here: another package of the module).
	os.WriteFile(helper, []byte(strings.Replace(helperSrc, `"-h"`, `"-i"`, 1)), 0o600)
	future := time.Now().Add(time.Minute)
	os.Chtimes(helper, future, future)
	if _, ok := cached(keep, "main.load", file, line, nil); ok {
		t.Error("a record was used after a file it was made from changed")
	}
	os.Remove(helper)
	if _, ok := cached(keep, "main.load", file, line, nil); ok {
		t.Error("a record was used after a file it was made from was removed")
	}
}
