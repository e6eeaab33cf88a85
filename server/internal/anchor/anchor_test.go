package anchor

import (
	"strings"
	"testing"
)

const before = `package main

import cr "github.com/cachelens/cachelens/cacheruntime"

var load = cr.Func1(func(s string) int { return len(s) })

var (
	a = cr.Func(f)
	b = cr.Func2E(
		g,
		cr.TTL(0),
	)
)

type S struct{ get func(int) int }

func NewS() *S { return &S{get: cr.Func1(h)} }

func (s *S) Use() int { return s.get(1) + s.get(2) }

func main() {
	load("x")
	for range 3 {
		load("y")
	}
	func() { load("z") }()
}
`

func TestIdentities(t *testing.T) {
	ix := Parse("main.go", []byte(before), nil)
	want := []DefID{{"", "load", 0}, {"", "a", 0}, {"", "b", 0}, {"NewS", "get", 0}}
	if len(ix.Defs) != len(want) {
		t.Fatalf("defs %+v", ix.Defs)
	}
	for i, w := range want {
		if ix.Defs[i].ID != w {
			t.Errorf("def %d: %+v, want %+v", i, ix.Defs[i].ID, w)
		}
	}
	b := ix.Defs[2]
	if b.Call.StartLine != 9 || b.Call.EndLine != 12 || b.Variant != "Func2E" {
		t.Errorf("b spans %+v", b.Call)
	}
	if d, ok := ix.DefAt(11); !ok || d.ID.Holder != "b" {
		t.Errorf("DefAt(11) = %+v", d)
	}
	calls := map[CallID]int{}
	for _, c := range ix.Calls {
		calls[c.ID] = c.Span.StartLine
	}
	for id, line := range map[CallID]int{
		{"(*S).Use", "get", 0}: 19, {"(*S).Use", "get", 1}: 19,
		{"main", "load", 0}: 22, {"main", "load", 1}: 24, {"main", "load", 2}: 26,
	} {
		if calls[id] != line {
			t.Errorf("call %+v at line %d, want %d (all: %v)", id, calls[id], line, calls)
		}
	}
}

// TestEditsKeepIdentity: lines inserted above a definition and inside a
// function before a call leave identities unchanged.
func TestEditsKeepIdentity(t *testing.T) {
	after := strings.Replace(before, "var load", "// a comment\n// and another\nvar load", 1)
	after = strings.Replace(after, "func main() {\n", "func main() {\n\tprintln()\n\n", 1)
	a, b := Parse("main.go", []byte(before), nil), Parse("main.go", []byte(after), nil)
	for _, d := range a.Defs {
		nd, ok := b.Def(d.ID)
		if !ok {
			t.Fatalf("%+v lost", d.ID)
		}
		if d.ID.Holder == "load" && nd.Call.StartLine != d.Call.StartLine+2 {
			t.Errorf("load moved from %d to %d", d.Call.StartLine, nd.Call.StartLine)
		}
	}
	c, _ := a.CallAt(24, "load")
	nc, ok := b.Call(c.ID)
	if !ok || c.ID.Ordinal != 1 || nc.Span.StartLine != 24+2+2 {
		t.Errorf("call %+v now at %+v", c.ID, nc)
	}
}

func TestBrokenAndOther(t *testing.T) {
	ix := Parse("x.go", []byte("package x\n\nimport \"github.com/cachelens/cachelens/cacheruntime\"\n\nvar f = cacheruntime.Func1(g\n"), nil)
	if !ix.Broken {
		t.Error("not marked broken")
	}
	// A call through a holder defined in another file of the package.
	ix = Parse("y.go", []byte("package x\n\nfunc use() { f(1) }\n"), map[string]bool{"f": true})
	if len(ix.Calls) != 1 || ix.Calls[0].ID != (CallID{"use", "f", 0}) {
		t.Errorf("calls %+v", ix.Calls)
	}
}
