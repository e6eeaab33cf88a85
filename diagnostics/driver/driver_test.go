package driver_test

import (
	"context"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/internal/testmodule"
)

const storeGo = `package store

import "github.com/cachelens/cachelens/cacheruntime"

type Cat struct{ Items []int }

var Load = cacheruntime.Func1(func(n int) *Cat { return &Cat{Items: make([]int, n)} })
`

const webGo = `package web

import "example.com/m/store"

func Use() int {
	c := store.Load(3)
	return len(c.Items)
}
`

func messages(r driver.Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, filepath.Base(f.Pos.Filename)+": "+f.Analyzer)
	}
	return out
}

func TestUpdate(t *testing.T) {
	dir := testmodule.New(t, "example.com/m", map[string]string{"store/store.go": storeGo, "web/web.go": webGo})
	prog, err := driver.Load(context.Background(), driver.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	an := diagnostics.Analyzers()
	if r := prog.Run(an); len(r.Findings) != 0 || len(r.Errors) != 0 {
		t.Fatalf("clean module: %v %v", messages(r), r.Errors)
	}
	web := filepath.Join(dir, "web", "web.go")
	// An edit that mutates the cached result.
	edited := strings.Replace(webGo, "return len(c.Items)", "c.Items[0] = 1\n\treturn len(c.Items)", 1)
	r, rechecked, unknown := prog.Update(map[string][]byte{web: []byte(edited)}, an)
	if len(unknown) != 0 || len(rechecked) != 1 || rechecked[0] != "example.com/m/web" {
		t.Fatalf("rechecked %v unknown %v", rechecked, unknown)
	}
	if got := messages(r); len(got) != 1 || got[0] != "web.go: mutated" {
		t.Fatalf("after the edit: %v %v", got, r.Errors)
	}
	// Broken in the middle of typing: errors, no panic, checks that can
	// still run do.
	r, _, _ = prog.Update(map[string][]byte{web: []byte(strings.Replace(edited, "return len(c.Items)", "return len(c.Items", 1))}, an)
	if len(r.Errors) == 0 {
		t.Fatal("no syntax error reported")
	}
	// A change in the dependency reaches the importer: with
	// AllowOutputMutation the mutation is fine.
	store := filepath.Join(dir, "store", "store.go")
	r, rechecked, _ = prog.Update(map[string][]byte{
		web:   []byte(edited),
		store: []byte(strings.Replace(storeGo, "make([]int, n)} })", "make([]int, n)} }, cacheruntime.AllowOutputMutation())", 1)),
	}, an)
	if len(r.Findings) != 0 || len(r.Errors) != 0 || len(rechecked) != 2 {
		t.Fatalf("after allowing mutation: %v %v rechecked %v", messages(r), r.Errors, rechecked)
	}
	// A file no package knows about.
	if _, _, unknown := prog.Update(map[string][]byte{filepath.Join(dir, "web", "new.go"): []byte("package web\n")}, an); len(unknown) != 1 {
		t.Fatalf("unknown %v", unknown)
	}
}

// TestRequires: packages that import no required package, directly or
// not, are not type-checked; an edit to one is only checked for new
// imports — one that brings in a required package needs a new load.
// Repeated edits do not grow the file set.
func TestRequires(t *testing.T) {
	const bigGo = "package big\n\nimport \"strings\"\n\nfunc Up(s string) string { return strings.ToUpper(s) }\n"
	dir := testmodule.New(t, "example.com/m", map[string]string{"store/store.go": storeGo, "web/web.go": webGo, "big/big.go": bigGo})
	prog, err := driver.Load(context.Background(), driver.Config{Dir: dir, Tests: true, Requires: diagnostics.Requires()})
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, p := range prog.Packages {
		if !strings.Contains(p.PkgPath, "cachelens") {
			loaded = append(loaded, p.PkgPath)
		}
	}
	if strings.Join(loaded, " ") != "example.com/m/store example.com/m/web" {
		t.Errorf("loaded %v, want store and web only", loaded)
	}
	big := filepath.Join(dir, "big", "big.go")
	if !prog.Owns(big) {
		t.Error("a file of a package left out is not known")
	}
	an := diagnostics.Analyzers()
	if _, rechecked, unknown := prog.Update(map[string][]byte{big: []byte(bigGo + "\n// an edit\n")}, an); len(rechecked)+len(unknown) != 0 {
		t.Errorf("an edit without new imports: rechecked %v, unknown %v", rechecked, unknown)
	}
	withRuntime := strings.Replace(bigGo, `import "strings"`, "import (\n\t\"strings\"\n\n\t\"github.com/cachelens/cachelens/cacheruntime\"\n)\n\nvar Up2 = cacheruntime.Func1(Up)", 1)
	if _, _, unknown := prog.Update(map[string][]byte{big: []byte(withRuntime)}, an); len(unknown) != 1 {
		t.Errorf("an edit importing cacheruntime: unknown %v, want a new load", unknown)
	}
	// A loaded file that gains an import of a package not loaded needs
	// a new load too.
	web := filepath.Join(dir, "web", "web.go")
	withBig := strings.Replace(webGo, `import "example.com/m/store"`, "import (\n\t\"example.com/m/big\"\n\t\"example.com/m/store\"\n)\n\nvar _ = big.Up", 1)
	if _, _, unknown := prog.Update(map[string][]byte{web: []byte(withBig)}, an); len(unknown) != 1 {
		t.Errorf("an edit importing a package not loaded: unknown %v, want a new load", unknown)
	}
	// The file set keeps one table per file, however many edits.
	count := func() (n int) {
		prog.Fset.Iterate(func(*token.File) bool { n++; return true })
		return n
	}
	prog.Update(map[string][]byte{web: []byte(webGo)}, an)
	before := count()
	for i := range 20 {
		prog.Update(map[string][]byte{web: []byte(webGo + strings.Repeat("\n", i))}, an)
	}
	if after := count(); after != before {
		t.Errorf("the file set grew from %d to %d files over 20 edits", before, after)
	}
	// A package a relevant one imports is loaded, whether or not it
	// imports cacheruntime itself: its facts matter.
	withDep := testmodule.New(t, "example.com/d", map[string]string{"store/store.go": strings.Replace(storeGo, "package store", "package store\n\nimport _ \"example.com/d/big\"", 1), "big/big.go": bigGo})
	prog, err = driver.Load(context.Background(), driver.Config{Dir: withDep, Requires: diagnostics.Requires()})
	if err != nil {
		t.Fatal(err)
	}
	depLoaded := false
	for _, p := range prog.Packages {
		depLoaded = depLoaded || p.PkgPath == "example.com/d/big"
	}
	if !depLoaded {
		t.Error("a package imported by one that uses cacheruntime was left out")
	}
	// A module with nothing to check loads, with no findings.
	empty := testmodule.New(t, "example.com/e", map[string]string{"big/big.go": bigGo})
	prog, err = driver.Load(context.Background(), driver.Config{Dir: empty, Requires: diagnostics.Requires()})
	if err != nil {
		t.Fatal(err)
	}
	if r := prog.Run(an); len(prog.Packages) != 0 || len(r.Findings)+len(r.Errors) != 0 {
		t.Errorf("nothing to check: %d packages loaded, %v", len(prog.Packages), r)
	}
}
