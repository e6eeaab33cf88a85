// Package percall reports cacheruntime.Func (or a typed variant)
// evaluated inside a function body when the cache it builds does not
// outlive the call: called at once, or kept in a local variable that is
// only called. Every call of the enclosing function then starts with a new,
// empty cache, so nothing is ever reused.
//
// Not reported: package-level variables, init, main, tests, one-time
// initialisation (sync.Once.Do, sync.OnceFunc, sync.OnceValue(s)), and
// caches that escape the function (stored in a field or variable,
// returned, passed on) — a constructor that gives each instance its own
// cache is fine. The fix moves the cache to a package-level variable when
// it refers to nothing local.
package percall

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/diagnostics/cachedfunc"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer reports caches built anew on every call.
var Analyzer = &analysis.Analyzer{
	Name:             "percall",
	Doc:              "report cacheruntime.Func evaluated inside a function body, building a new (always cold) cache on every call",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	RunDespiteErrors: true,
}

func run(pass *analysis.Pass) (any, error) {
	info := pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info)
	for _, d := range info.Defs {
		decl, inner := enclosing(d.Stack)
		if decl == nil || exempt(pass, decl, d.Stack) {
			continue
		}
		use, local := howUsed(pass, d, decl)
		if use == "" {
			continue
		}
		fname := decl.Name.Name
		if inner != nil {
			fname = "the function literal in " + fname
		}
		msg := fmt.Sprintf("cacheruntime.%s %s inside %s, so every call of %s starts with a new, empty cache and nothing is reused",
			d.Variant, use, fname, decl.Name.Name)
		diag := analysis.Diagnostic{Pos: d.Call.Pos(), End: d.Call.End(), Category: "percall", Message: msg}
		if fix, ok := moveFix(pass, d, decl, local); ok {
			diag.SuggestedFixes = []analysis.SuggestedFix{fix}
		}
		pass.Report(diag)
	}
	return nil, nil
}

// enclosing returns the top-level function declaration around the call
// and the innermost function literal, if any.
func enclosing(stack []ast.Node) (decl *ast.FuncDecl, lit *ast.FuncLit) {
	for _, n := range stack {
		switch n := n.(type) {
		case *ast.FuncDecl:
			decl = n
		case *ast.FuncLit:
			lit = n
		}
	}
	return decl, lit
}

// exempt reports whether the enclosing code runs once.
func exempt(pass *analysis.Pass, decl *ast.FuncDecl, stack []ast.Node) bool {
	name := decl.Name.Name
	if decl.Recv == nil && (name == "init" || (name == "main" && pass.Pkg.Name() == "main")) {
		return true
	}
	file := pass.Fset.File(decl.Pos()).Name()
	if strings.HasSuffix(file, "_test.go") {
		for _, p := range []string{"Test", "Benchmark", "Fuzz", "Example"} {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	// Inside a function literal handed to sync.Once.Do, sync.OnceFunc,
	// sync.OnceValue or sync.OnceValues.
	for i, n := range stack {
		lit, ok := n.(*ast.FuncLit)
		if !ok || i == 0 {
			continue
		}
		call, ok := stack[i-1].(*ast.CallExpr)
		if !ok {
			continue
		}
		if fn, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "sync" {
			switch fn.Name() {
			case "Do", "OnceFunc", "OnceValue", "OnceValues":
				for _, a := range call.Args {
					if a == lit {
						return true
					}
				}
			}
		}
	}
	return false
}

// howUsed describes how the new cache is used if it does not outlive the
// call ("" if it does), and the local variable holding it, if any.
func howUsed(pass *analysis.Pass, d *cachedfunc.Def, decl *ast.FuncDecl) (string, *types.Var) {
	parent := d.Stack[len(d.Stack)-1]
	for i := len(d.Stack) - 1; i > 0; i-- {
		if _, ok := d.Stack[i].(*ast.ParenExpr); !ok {
			break
		}
		parent = d.Stack[i-1]
	}
	if call, ok := parent.(*ast.CallExpr); ok && ast.Unparen(call.Fun) == d.Call {
		return "is called at once", nil
	}
	v, ok := d.Holder.(*types.Var)
	if !ok || v.IsField() || v.Parent() == pass.Pkg.Scope() || v.Parent() == nil {
		return "", nil
	}
	// A local variable: every use must be a call.
	onlyCalls := true
	uses := 0
	ast.Inspect(decl.Body, func(n ast.Node) bool {
		if !onlyCalls {
			return false
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && pass.TypesInfo.Uses[id] == v {
				uses++
				for _, a := range n.Args {
					ast.Inspect(a, func(m ast.Node) bool {
						if id, ok := m.(*ast.Ident); ok && pass.TypesInfo.Uses[id] == v {
							onlyCalls = false
						}
						return onlyCalls
					})
				}
				return false
			}
		case *ast.Ident:
			if pass.TypesInfo.Uses[n] == v {
				onlyCalls = false
			}
		}
		return true
	})
	if !onlyCalls {
		return "", nil
	}
	return "builds the cache " + v.Name(), v
}

// moveFix moves the Func call to a package-level variable, if it refers
// to nothing local to the function.
func moveFix(pass *analysis.Pass, d *cachedfunc.Def, decl *ast.FuncDecl, local *types.Var) (analysis.SuggestedFix, bool) {
	if decl.Type.TypeParams != nil || (decl.Recv != nil && hasTypeParams(decl.Recv)) {
		return analysis.SuggestedFix{}, false
	}
	refersToLocal := false
	ast.Inspect(d.Call, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		obj := pass.TypesInfo.Uses[id]
		if obj == nil || obj.Pkg() != pass.Pkg {
			return true
		}
		p := obj.Pos()
		if p >= decl.Pos() && p < decl.End() && !(p >= d.Call.Pos() && p < d.Call.End()) {
			refersToLocal = true
		}
		return !refersToLocal
	})
	if refersToLocal {
		return analysis.SuggestedFix{}, false
	}
	f, err := codeactions.PassFile(pass, d.File)
	if err != nil {
		return analysis.SuggestedFix{}, false
	}
	callText := string(f.Src[f.Offset(d.Call.Pos()):f.Offset(d.Call.End())])
	var raw []codeactions.Edit
	var name string
	if local != nil {
		name = local.Name()
		if pass.Pkg.Scope().Lookup(name) != nil {
			name = freeName(pass, decl.Name.Name+upper(name))
			// Rename the uses.
			for id, obj := range pass.TypesInfo.Uses {
				if obj == local {
					raw = append(raw, codeactions.Edit{File: f.Name, Start: f.Offset(id.Pos()), End: f.Offset(id.End()), New: name})
				}
			}
		}
		// Delete the statement that defined it (it must be on lines of its
		// own).
		stmt := definingStmt(d.Stack)
		if stmt == nil {
			return analysis.SuggestedFix{}, false
		}
		start, end, comment := wholeLines(f.Src, f.Offset(stmt.Pos()), f.Offset(stmt.End()))
		if start < 0 {
			return analysis.SuggestedFix{}, false
		}
		raw = append(raw, codeactions.Edit{File: f.Name, Start: start, End: end})
		if comment != "" {
			callText += " " + comment
		}
	} else {
		base := decl.Name.Name + "Cache"
		if d.Func != nil {
			base = decl.Name.Name + upper(d.Func.Name())
		}
		name = freeName(pass, base)
		raw = append(raw, codeactions.Edit{File: f.Name, Start: f.Offset(d.Call.Pos()), End: f.Offset(d.Call.End()), New: name})
	}
	at := f.Offset(decl.Pos())
	if decl.Doc != nil {
		at = f.Offset(decl.Doc.Pos())
	}
	raw = append(raw, codeactions.Edit{File: f.Name, Start: at, End: at, New: fmt.Sprintf("var %s = %s\n\n", name, callText)})
	return codeactions.SuggestedFix(pass.Fset, "Move the cache to package level", raw)
}

func hasTypeParams(recv *ast.FieldList) bool {
	for _, f := range recv.List {
		t := f.Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		switch t.(type) {
		case *ast.IndexExpr, *ast.IndexListExpr:
			return true
		}
	}
	return false
}

// definingStmt returns the statement that defines the local holder.
func definingStmt(stack []ast.Node) ast.Stmt {
	for i := len(stack) - 1; i >= 0; i-- {
		switch s := stack[i].(type) {
		case *ast.AssignStmt:
			if len(s.Lhs) == 1 && len(s.Rhs) == 1 {
				return s
			}
			return nil
		case *ast.DeclStmt:
			return s
		case ast.Stmt:
			return nil
		}
	}
	return nil
}

// wholeLines widens [start, end) to the full lines it occupies and
// returns the line comment that follows it, or -1 if other code shares
// those lines.
func wholeLines(src []byte, start, end int) (int, int, string) {
	ls := bytes.LastIndexByte(src[:start], '\n') + 1
	if len(bytes.TrimSpace(src[ls:start])) != 0 {
		return -1, -1, ""
	}
	le := bytes.IndexByte(src[end:], '\n')
	if le < 0 {
		le = len(src) - end
	}
	rest := bytes.TrimSpace(src[end : end+le])
	if len(rest) != 0 && !bytes.HasPrefix(rest, []byte("//")) {
		return -1, -1, ""
	}
	return ls, min(end+le+1, len(src)), string(rest)
}

// freeName returns name, or name with a number, unused at package scope.
func freeName(pass *analysis.Pass, name string) string {
	cand := name
	for i := 2; pass.Pkg.Scope().Lookup(cand) != nil || token.Lookup(cand).IsKeyword(); i++ {
		cand = fmt.Sprintf("%s%d", name, i)
	}
	return cand
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
