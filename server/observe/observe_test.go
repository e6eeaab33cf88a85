package observe_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/internal/testmodule"
	"github.com/cachelens/cachelens/server/observe"
)

const program = `package main

import (
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

var square = cacheruntime.Func(func(n int) int { return n * n })

var rows = cacheruntime.Func(func(n int) []int { return make([]int, n) })

func main() {
	for i := range 4 {
		fmt.Println(square(i % 2))
	}
	r := rows(3)
	r[0] = 7
	rows(3)
}
`

// TestRun builds and runs a real program against the collector and checks
// what an editor would show: the lenses on the cached functions, the hint
// at the loop's call site, and the mutation (the mutated entry is dropped:
// the second call misses) with its diagnostic and fix.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "prog")
	testmodule.Write(t, mod, "example.com/prog", map[string]string{"main.go": program})
	bin := filepath.Join(dir, "prog-bin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	obs, out, err := observe.Run(exec.Command(bin), dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := string(out); got != "0\n1\n0\n1\n" {
		t.Errorf("program output %q", got)
	}
	f := obs.File(filepath.Join(mod, "main.go"))
	if !strings.HasPrefix(string(f.Text), "package main") {
		t.Fatalf("text %q", f.Text)
	}
	lenses := map[int]string{}
	for _, l := range f.Lenses {
		lenses[l.Line] = l.Text
	}
	if !strings.Contains(lenses[9], "2 hits · 2 misses") || !strings.Contains(lenses[11], "0 hits · 2 misses (0%) · 1 mutation") || len(lenses) != 2 {
		t.Errorf("lenses: %+v", f.Lenses)
	}
	var hint bool
	for _, h := range f.Hints {
		hint = hint || h.Line == 15 && strings.Contains(h.Text, "2 hits · 2 misses")
	}
	if !hint {
		t.Errorf("no hint at the loop's call (line 15): %+v", f.Hints)
	}
	var mutation bool
	for _, d := range f.Diagnostics {
		if d.Code == "runtime-mutation" {
			mutation = len(d.Fixes) > 0
		}
	}
	if !mutation {
		t.Errorf("no runtime-mutation diagnostic with a fix: %+v", f.Diagnostics)
	}
}

// TestRunFails: a program that fails is an error that carries its output.
func TestRunFails(t *testing.T) {
	_, out, err := observe.Run(exec.Command("sh", "-c", "echo broken; exit 3"), t.TempDir())
	if err == nil || string(out) != "broken\n" {
		t.Fatalf("err %v, output %q", err, out)
	}
}

const persisted = `package main

import (
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

type secret struct{ n int }

var square = cacheruntime.Func(func(n int) int { return n * n }, cacheruntime.Persist())

var hidden = cacheruntime.Func(func(n int) secret { return secret{n} }, cacheruntime.Persist())

func main() {
	for i := range 4 {
		fmt.Println(square(i % 2))
	}
	hidden(1)
}
`

// TestRunPersisted: the second run of a program that persists its results
// reads them from disk, and the lens says so; a result that cannot be
// persisted is a diagnostic at its cache.
func TestRunPersisted(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "prog")
	testmodule.Write(t, mod, "example.com/prog", map[string]string{"main.go": persisted})
	bin := filepath.Join(dir, "prog-bin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cache := filepath.Join(dir, "cache")
	var f observe.File
	for run := range 2 {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "CACHELENS_CACHE_DIR="+cache)
		obs, out, err := observe.Run(cmd, filepath.Join(dir, fmt.Sprint(run)))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		f = obs.File(filepath.Join(mod, "main.go"))
	}
	lenses := map[int]string{}
	for _, l := range f.Lenses {
		lenses[l.Line] = l.Text
	}
	if !strings.HasPrefix(lenses[11], "cache · 4 hits (2 disk) · 0 misses (100%)") {
		t.Errorf("the second run's lenses: %+v", f.Lenses)
	}
	var storeErr bool
	for _, d := range f.Diagnostics {
		storeErr = storeErr || d.Code == "runtime-storeerr" && d.Line == 13 && strings.Contains(d.Message, "not persisted: main.secret has the unexported field n")
	}
	if !storeErr {
		t.Errorf("no store error at line 13: %+v", f.Diagnostics)
	}
}
