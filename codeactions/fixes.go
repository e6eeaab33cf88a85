package codeactions

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
)

// RuntimePath is the import path of the cache library.
const RuntimePath = "github.com/cachelens/cachelens/cacheruntime"

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
		if name, ok := LocalName(f.AST, p.Path(), p.Name()); ok {
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
	if name, ok := LocalName(f.AST, RuntimePath, "cacheruntime"); ok {
		return name
	}
	*need = append(*need, Import{Path: RuntimePath})
	return "cacheruntime"
}

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
	return Rewrite(f.Name, f.Src, []Edit{raw}, imports)
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
	return Rewrite(f.Name, f.Src, raw, need)
}

// CloneAfter returns the edits that insert "name = cacheruntime.Clone(name)"
// after stmt, for results received from a call with several results.
func CloneAfter(f *File, stmt ast.Stmt, name string) ([]Edit, error) {
	var need []Import
	rt := f.RuntimeName(&need)
	end := f.Offset(stmt.End())
	indent := lineIndent(f.Src, f.Offset(stmt.Pos()))
	raw := []Edit{{File: f.Name, Start: end, End: end, New: fmt.Sprintf("\n%s%s = %s.Clone(%s)", indent, name, rt, name)}}
	return Rewrite(f.Name, f.Src, raw, need)
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
