package codeactions

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"github.com/cachelens/cachelens/internal/runtimeapi"
)

// File is a Go source file being fixed.
type File struct {
	Name string // file name, as in the FileSet
	Fset *token.FileSet
	AST  *ast.File
	Src  []byte
	Pkg  *types.Package // the package the file belongs to (may be nil)
}

// Offset returns the byte offset of pos in the file.
func (f *File) Offset(pos token.Pos) int { return f.Fset.Position(pos).Offset }

// Qualifier returns a types.Qualifier that names packages as this file
// imports them, and records in *need the imports it had to assume.
func (f *File) Qualifier(need *[]Import) types.Qualifier {
	return func(p *types.Package) string {
		if f.Pkg != nil && p.Path() == f.Pkg.Path() {
			return ""
		}
		if name, ok := localName(f.AST, p.Path(), p.Name()); ok {
			return name
		}
		for _, imp := range *need {
			if imp.Path == p.Path() {
				return p.Name()
			}
		}
		*need = append(*need, Import{Path: p.Path()})
		return p.Name()
	}
}

// RuntimeName returns the name the file uses for cacheruntime, recording
// an import if it has none.
func (f *File) RuntimeName(need *[]Import) string {
	if name, ok := localName(f.AST, runtimeapi.Path, runtimeapi.Name); ok {
		return name
	}
	*need = append(*need, Import{Path: runtimeapi.Path})
	return "cacheruntime"
}

// The fix builders below return raw edits: they compile but may not be
// gofmt-formatted (indentation, import order). They are cheap enough to
// compute for every finding on every keystroke; NormalizeFix turns them
// into the formatted, minimal edits a user is offered.

// AddOption returns the edits that add option (Go source text) as the last
// argument of call, a cacheruntime.Func call in f.
func AddOption(f *File, call *ast.CallExpr, option string, imports []Import) ([]Edit, error) {
	if len(call.Args) == 0 {
		return nil, fmt.Errorf("codeactions: the call has no arguments")
	}
	if call.Ellipsis != token.NoPos {
		return nil, fmt.Errorf("codeactions: the options are passed as a slice (opts...)")
	}
	last := call.Args[len(call.Args)-1]
	end := f.Offset(last.End())
	rparen := f.Offset(call.Rparen)
	var raw Edit
	if between := f.Src[end:rparen]; bytes.Contains(between, []byte(",")) {
		// A call written one argument per line, with a trailing comma:
		// the option goes on its own line.
		at := end + bytes.IndexByte(between, ',') + 1
		raw = Edit{File: f.Name, Start: at, End: at, New: "\n" + option + ","}
	} else {
		raw = Edit{File: f.Name, Start: end, End: end, New: ", " + option}
	}
	return append(importEdits(f, imports), raw), nil
}

// HashFuncOption returns the text of a cacheruntime.HashFunc option for t
// and the imports it needs. With fields, values of t hash as those fields
// (field names of t's struct, or of the struct t points to); without, t is
// ignored when hashing.
func HashFuncOption(f *File, t types.Type, fields []string) (string, []Import) {
	var need []Import
	rt := f.RuntimeName(&need)
	tname := types.TypeString(t, f.Qualifier(&need))
	if len(fields) == 0 {
		return fmt.Sprintf("%s.HashFunc(func(%s) any { return nil })", rt, tname), need
	}
	var body string
	if len(fields) == 1 {
		body = "return v." + fields[0]
	} else {
		body = "return []any{v." + strings.Join(fields, ", v.") + "}"
	}
	if _, ok := t.Underlying().(*types.Pointer); ok {
		body = "if v == nil {\nreturn nil\n}\n" + body
		return fmt.Sprintf("%s.HashFunc(func(v %s) any {\n%s\n})", rt, tname, body), need
	}
	return fmt.Sprintf("%s.HashFunc(func(v %s) any { %s })", rt, tname, body), need
}

// WrapInClone returns the edits that replace call with
// cacheruntime.Clone(call).
func WrapInClone(f *File, call ast.Expr) ([]Edit, error) {
	var need []Import
	rt := f.RuntimeName(&need)
	start, end := f.Offset(call.Pos()), f.Offset(call.End())
	raw := []Edit{
		{File: f.Name, Start: start, End: start, New: rt + ".Clone("},
		{File: f.Name, Start: end, End: end, New: ")"},
	}
	return append(importEdits(f, need), raw...), nil
}

// CloneAfter returns the edits that insert "name = cacheruntime.Clone(name)"
// after stmt, for results received from a call with several results.
func CloneAfter(f *File, stmt ast.Stmt, name string) ([]Edit, error) {
	var need []Import
	rt := f.RuntimeName(&need)
	end := f.Offset(stmt.End())
	indent := lineIndent(f.Src, f.Offset(stmt.Pos()))
	raw := []Edit{{File: f.Name, Start: end, End: end, New: fmt.Sprintf("\n%s%s = %s.Clone(%s)", indent, name, rt, name)}}
	return append(importEdits(f, need), raw...), nil
}

func lineIndent(src []byte, off int) string {
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	i := start
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return string(src[start:i])
}

// AllowMutation returns the edits that add AllowOutputMutation() to the
// Func call whose closing parenthesis is at byte offset closeOff of the
// file named name with contents src (the definition may be in a file or
// package the caller has no syntax for).
func AllowMutation(name string, src []byte, closeOff int) ([]Edit, error) {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("codeactions: %s: %v", name, err)
	}
	f := &File{Name: name, Fset: fset, AST: af, Src: src}
	var call *ast.CallExpr
	ast.Inspect(af, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && fset.Position(c.Rparen).Offset == closeOff {
			call = c
		}
		return call == nil
	})
	if call == nil {
		return nil, fmt.Errorf("codeactions: no call ends at offset %d of %s", closeOff, name)
	}
	var need []Import
	rt := f.RuntimeName(&need)
	return AddOption(f, call, rt+".AllowOutputMutation()", need)
}

// importEdits returns raw edits that import the packages f lacks.
func importEdits(f *File, imports []Import) []Edit {
	var missing []Import
	for _, imp := range imports {
		if _, ok := localName(f.AST, imp.Path, ""); !ok && !slices.Contains(missing, imp) {
			missing = append(missing, imp)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var specs []string
	for _, imp := range missing {
		spec := strconv.Quote(imp.Path)
		if imp.Name != "" {
			spec = imp.Name + " " + spec
		}
		specs = append(specs, spec)
	}
	// Into the last parenthesized import declaration, if there is one.
	var last *ast.GenDecl
	for _, d := range f.AST.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			last = gd
		}
	}
	switch {
	case last != nil && last.Lparen.IsValid() && len(last.Specs) > 0:
		// Next to the import with the longest common path prefix (the
		// group it belongs to), as goimports would.
		var out []Edit
		for i, imp := range missing {
			best, bestLen := last.Specs[0], -1
			for _, sp := range last.Specs {
				p, _ := strconv.Unquote(sp.(*ast.ImportSpec).Path.Value)
				if n := commonPrefix(p, imp.Path); n > bestLen {
					best, bestLen = sp, n
				}
			}
			at := f.Offset(best.End())
			out = append(out, Edit{File: f.Name, Start: at, End: at, New: "\n\t" + specs[i]})
		}
		return out
	case last != nil && last.Lparen.IsValid():
		at := f.Offset(last.Rparen)
		return []Edit{{File: f.Name, Start: at, End: at, New: "\n\t" + strings.Join(specs, "\n\t") + "\n"}}
	case last != nil:
		// import "x" becomes import ( "x"; "y" ).
		start, end := f.Offset(last.Pos()), f.Offset(last.End())
		old := string(f.Src[f.Offset(last.Specs[0].Pos()):end])
		return []Edit{{File: f.Name, Start: start, End: end, New: "import (\n\t" + old + "\n\t" + strings.Join(specs, "\n\t") + "\n)"}}
	}
	at := f.Offset(f.AST.Name.End())
	return []Edit{{File: f.Name, Start: at, End: at, New: "\n\nimport (\n\t" + strings.Join(specs, "\n\t") + "\n)"}}
}

// NormalizeFix turns a fix's raw edits into the edits a user is offered:
// for each file, the edits applied, the result gofmt-formatted (when the
// file was) and checked to parse, and the difference to the original as
// minimal line edits. read returns a file's current contents.
func NormalizeFix(read func(name string) ([]byte, error), edits []Edit) ([]Edit, error) {
	byFile := map[string][]Edit{}
	var order []string
	for _, e := range edits {
		if _, ok := byFile[e.File]; !ok {
			order = append(order, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	var out []Edit
	for _, name := range order {
		src, err := read(name)
		if err != nil {
			return nil, err
		}
		norm, err := rewrite(name, src, byFile[name], nil)
		if err != nil {
			return nil, err
		}
		out = append(out, norm...)
	}
	return out, nil
}

// commonPrefix is the length of the common prefix of two import paths,
// counting whole path elements (a dot in the first one counts as a
// domain: third-party paths group together).
func commonPrefix(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	if n == 0 && strings.Contains(as[0], ".") == strings.Contains(bs[0], ".") {
		return 0 // both standard library, or both third party
	}
	if n == 0 {
		return -1
	}
	return n
}

// Cloned reports whether the result of call is already deep-copied in f:
// call is the argument of cacheruntime.Clone, or the statement that
// assigns it to name is followed by name = cacheruntime.Clone(name). A
// fix that wraps it again is then not offered.
func Cloned(f *File, call ast.Expr) bool {
	rt, ok := localName(f.AST, runtimeapi.Path, runtimeapi.Name)
	if !ok {
		return false
	}
	isClone := func(e ast.Expr) (*ast.CallExpr, bool) {
		c, ok := ast.Unparen(e).(*ast.CallExpr)
		if e == nil || !ok || len(c.Args) != 1 {
			return nil, false
		}
		switch fn := ast.Unparen(c.Fun).(type) {
		case *ast.SelectorExpr:
			x, ok := fn.X.(*ast.Ident)
			return c, ok && x.Name == rt && fn.Sel.Name == "Clone"
		case *ast.IndexExpr: // cacheruntime.Clone[T](x)
			if sel, ok := fn.X.(*ast.SelectorExpr); ok {
				x, ok := sel.X.(*ast.Ident)
				return c, ok && x.Name == rt && sel.Sel.Name == "Clone"
			}
		}
		return nil, false
	}
	found := false
	ast.Inspect(f.AST, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if c, ok := isClone(n); ok && ast.Unparen(c.Args[0]) == call {
				found = true
			}
		case *ast.BlockStmt:
			for i, st := range n.List {
				as, ok := st.(*ast.AssignStmt)
				if !ok || len(as.Rhs) != 1 || ast.Unparen(as.Rhs[0]) != call || i+1 >= len(n.List) {
					continue
				}
				id, ok := as.Lhs[0].(*ast.Ident)
				next, ok2 := n.List[i+1].(*ast.AssignStmt)
				if !ok || !ok2 || len(next.Lhs) != 1 || len(next.Rhs) != 1 {
					continue
				}
				lhs, ok := next.Lhs[0].(*ast.Ident)
				c, isC := isClone(next.Rhs[0])
				if ok && isC && lhs.Name == id.Name {
					if arg, ok := ast.Unparen(c.Args[0]).(*ast.Ident); ok && arg.Name == id.Name {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

// Generated reports whether src is generated code ("// Code generated ...
// DO NOT EDIT." before the package clause), which fixes must not edit.
func Generated(src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.PackageClauseOnly|parser.ParseComments)
	return err == nil && ast.IsGenerated(f)
}
