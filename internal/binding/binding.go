// Package binding finds what a cache is bound to in its source — the
// variable or field a cacheruntime.Func call is assigned to — for the
// identity of persisted entries (cacheruntime) and the labels of
// production metrics (internal/cachemetrics).
package binding

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
)

// Of names what the cache defined by the call at file:line is bound
// to, for an identity that survives edits elsewhere: the variable
// ("loadUser"), a local variable with its function ("main: load"), or a
// field ("s.users"). It returns "" when the call is not assigned (a
// cache returned or passed on) or the source cannot be read.
func Of(file string, line int) string {
	src, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return ""
	}
	at := func(n ast.Node) bool {
		return fset.Position(n.Pos()).Line <= line && line <= fset.Position(n.End()).Line
	}
	name := ""
	var fn string // the enclosing function, for local variables
	ast.Inspect(f, func(n ast.Node) bool {
		if name != "" || n == nil || !at(n) {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncDecl:
			fn = n.Name.Name
			if n.Recv != nil && len(n.Recv.List) > 0 {
				fn = exprString(src, fset, n.Recv.List[0].Type) + "." + fn
			}
		case *ast.ValueSpec:
			for i, v := range n.Values {
				if at(v) && isCall(v) && i < len(n.Names) {
					name = n.Names[i].Name
					if fn != "" {
						name = fn + ": " + name
					}
					return false
				}
			}
		case *ast.AssignStmt:
			for i, v := range n.Rhs {
				if at(v) && isCall(v) && i < len(n.Lhs) {
					name = exprString(src, fset, n.Lhs[i])
					if _, ok := n.Lhs[i].(*ast.Ident); ok && fn != "" {
						name = fn + ": " + name
					}
					return false
				}
			}
		}
		return true
	})
	return name
}

func isCall(e ast.Expr) bool {
	_, ok := ast.Unparen(e).(*ast.CallExpr)
	return ok
}

func exprString(src []byte, fset *token.FileSet, e ast.Expr) string {
	tf := fset.File(e.Pos())
	return string(src[tf.Offset(e.Pos()):tf.Offset(e.End())])
}
