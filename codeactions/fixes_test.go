package codeactions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestCloned: a call already wrapped in cacheruntime.Clone (under any name
// the file imports it as), or whose result is re-assigned from a Clone of
// it, is recognized; other calls are not.
func TestCloned(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"x := cacheruntime.Clone(load(1))", true},
		{"x := rt.Clone(load(1))", true},
		{"x := cacheruntime.Clone[*T](load(1))", true},
		{"x := load(1)", false},
		{"x := other.Clone(load(1))", false},
		{"x, err := load(1)\n\tx = cacheruntime.Clone(x)", true},
		{"x, err := load(1)\n\ty = cacheruntime.Clone(x)", false},
		{"x, err := load(1)\n\tuse(x)\n\tx = cacheruntime.Clone(x)", false},
	} {
		imp := `"github.com/cachelens/cachelens/cacheruntime"`
		if strings.Contains(c.src, "rt.") {
			imp = `rt "github.com/cachelens/cachelens/cacheruntime"`
		}
		src := "package p\n\nimport " + imp + "\n\nfunc f() {\n\t" + c.src + "\n}\n"
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, "p.go", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := &File{Name: "p.go", Fset: fset, AST: af, Src: []byte(src)}
		var call *ast.CallExpr
		ast.Inspect(af, func(n ast.Node) bool {
			if ce, ok := n.(*ast.CallExpr); ok {
				if id, ok := ce.Fun.(*ast.Ident); ok && id.Name == "load" {
					call = ce
				}
			}
			return true
		})
		if got := Cloned(f, call); got != c.want {
			t.Errorf("Cloned in %q = %v, want %v", c.src, got, c.want)
		}
	}
}
