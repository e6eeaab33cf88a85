package driver_test

import (
	"context"
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
