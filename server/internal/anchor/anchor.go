// Package anchor gives cached functions and their call sites a static
// identity, so that what a running program reports by line number (in the
// source it was built from) lands on the right code in an edited buffer.
//
// A definition is identified by the top-level declaration around it, the
// name of the variable or field it is assigned to, and its position among
// the definitions with that name in that declaration. A call site is
// identified by the top-level function around it and its text (or, if
// its text changed, its position among the calls of that name in that
// function). Lines inserted or removed anywhere — above the code, or
// inside the function before it, other calls included — do not lose it.
//
// It serves the language server only and is not a stable API.
package anchor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/cachelens/cachelens/internal/runtimeapi"
)

// DefID identifies a cached function definition.
type DefID struct {
	Scope   string // top-level declaration: "" at package level, else its name ("handle", "(*Server).Start")
	Holder  string // the variable or field holding the cached function ("" if none)
	Ordinal int
}

// CallID identifies a call site.
type CallID struct {
	Func    string // top-level function ("" for package-level initialisers)
	Callee  string // the name called
	Ordinal int
}

// Def is a cached function definition in a file.
type Def struct {
	ID      DefID
	Variant string
	// Call is the Func call; Decl is the statement or spec that assigns
	// it (where a code lens goes), or the call itself.
	Call, Decl Span
	// Name is the holder's identifier, if any.
	Name Span
}

// Call is a call through a holder name.
type Call struct {
	ID   CallID
	Span Span
	// Text is the call's source, with spaces removed; TextOrdinal counts
	// the earlier calls in the function with the same text. Together they
	// find a call again after other calls of the same name were added or
	// removed before it.
	Text        string
	TextOrdinal int
}

// Span is a byte range with its lines (1-based).
type Span struct {
	Start, End         int
	StartLine, EndLine int
}

// Contains reports whether line lies within the span's lines.
func (s Span) Contains(line int) bool { return line >= s.StartLine && line <= s.EndLine }

// Index is what a file contains.
type Index struct {
	Defs []Def
	// Calls are the calls through names in the holder set the index was
	// built with.
	Calls []Call
	// Holders are the names this file assigns cached functions to.
	Holders map[string]bool
	// Broken is set when the file did not parse completely.
	Broken bool
}

// Parse parses src and indexes it. holders are names known to hold cached
// functions in the file's package (from other files); the file's own are
// added. The index is usable even when src has syntax errors.
func Parse(filename string, src []byte, holders map[string]bool) *Index {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if f == nil {
		return &Index{Holders: map[string]bool{}, Broken: true}
	}
	ix := build(fset, f, src, holders)
	ix.Broken = err != nil
	return ix
}

// build indexes a parsed file whose source is src.
func build(fset *token.FileSet, f *ast.File, src []byte, holders map[string]bool) *Index {
	ix := &Index{Holders: map[string]bool{}}
	rt := runtimeName(f)
	if rt != "" {
		ix.findDefs(fset, f, rt)
	}
	names := map[string]bool{}
	for n := range holders {
		names[n] = true
	}
	for n := range ix.Holders {
		names[n] = true
	}
	if len(names) > 0 {
		ix.findCalls(fset, f, src, names)
	}
	return ix
}

// runtimeName returns the name the file imports cacheruntime under.
func runtimeName(f *ast.File) string {
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil && p == runtimeapi.Path {
			if imp.Name != nil {
				if imp.Name.Name == "_" || imp.Name.Name == "." {
					return ""
				}
				return imp.Name.Name
			}
			return "cacheruntime"
		}
	}
	return ""
}

func span(fset *token.FileSet, n ast.Node) Span {
	s, e := fset.Position(n.Pos()), fset.Position(n.End())
	return Span{Start: s.Offset, End: e.Offset, StartLine: s.Line, EndLine: e.Line}
}

// scopeName names a top-level declaration as the runtime names functions
// (without the package): "handle", "(*Server).Start", "Server.Stop".
func scopeName(decl ast.Decl) string {
	fd, ok := decl.(*ast.FuncDecl)
	if !ok {
		return ""
	}
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = true, s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	name := "?"
	if id, ok := t.(*ast.Ident); ok {
		name = id.Name
	}
	if star {
		return "(*" + name + ")." + fd.Name.Name
	}
	return name + "." + fd.Name.Name
}

func (ix *Index) findDefs(fset *token.FileSet, f *ast.File, rt string) {
	counts := map[DefID]int{}
	for _, decl := range f.Decls {
		scope := scopeName(decl)
		var stack []ast.Node
		ast.Inspect(decl, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			variant := variantOf(call, rt)
			if variant == "" {
				return true
			}
			d := Def{Variant: variant, Call: span(fset, call), Decl: span(fset, call)}
			holder, nameNode, declNode := holderOf(stack[:len(stack)-1], call)
			if nameNode != nil {
				d.Name = span(fset, nameNode)
			}
			if declNode != nil {
				d.Decl = span(fset, declNode)
			}
			id := DefID{Scope: scope, Holder: holder}
			d.ID = DefID{Scope: scope, Holder: holder, Ordinal: counts[id]}
			counts[id]++
			if holder != "" {
				ix.Holders[holder] = true
			}
			ix.Defs = append(ix.Defs, d)
			return true
		})
	}
}

func variantOf(call *ast.CallExpr, rt string) string {
	fun := call.Fun
	switch x := fun.(type) {
	case *ast.IndexExpr:
		fun = x.X
	case *ast.IndexListExpr:
		fun = x.X
	}
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if id, ok := sel.X.(*ast.Ident); ok && id.Name == rt && runtimeapi.IsVariant(sel.Sel.Name) {
		return sel.Sel.Name
	}
	return ""
}

// holderOf finds the name a Func call is assigned to, from its parents.
func holderOf(parents []ast.Node, call *ast.CallExpr) (name string, ident ast.Node, decl ast.Node) {
	var child ast.Node = call
	for i := len(parents) - 1; i >= 0; i-- {
		switch p := parents[i].(type) {
		case *ast.ParenExpr:
			child = p
			continue
		case *ast.ValueSpec:
			for j, v := range p.Values {
				if v == child && j < len(p.Names) {
					return p.Names[j].Name, p.Names[j], p
				}
			}
		case *ast.AssignStmt:
			for j, r := range p.Rhs {
				if r == child && j < len(p.Lhs) {
					switch l := p.Lhs[j].(type) {
					case *ast.Ident:
						return l.Name, l, p
					case *ast.SelectorExpr:
						return l.Sel.Name, l.Sel, p
					}
				}
			}
		case *ast.KeyValueExpr:
			if p.Value == child {
				if k, ok := p.Key.(*ast.Ident); ok {
					return k.Name, k, p
				}
			}
		}
		return "", nil, nil
	}
	return "", nil, nil
}

func (ix *Index) findCalls(fset *token.FileSet, f *ast.File, src []byte, names map[string]bool) {
	counts := map[CallID]int{}
	textCounts := map[[2]string]int{}
	for _, decl := range f.Decls {
		scope := scopeName(decl)
		ast.Inspect(decl, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			callee := calleeName(call.Fun)
			if callee == "" || !names[callee] {
				return true
			}
			id := CallID{Func: scope, Callee: callee}
			sp := span(fset, call)
			text := ""
			if sp.End <= len(src) {
				text = strings.Join(strings.Fields(string(src[sp.Start:sp.End])), "")
			}
			tk := [2]string{scope, text}
			ix.Calls = append(ix.Calls, Call{ID: CallID{Func: scope, Callee: callee, Ordinal: counts[id]}, Span: sp, Text: text, TextOrdinal: textCounts[tk]})
			counts[id]++
			textCounts[tk]++
			return true
		})
	}
}

func calleeName(fun ast.Expr) string {
	switch x := fun.(type) {
	case *ast.ParenExpr:
		return calleeName(x.X)
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

// DefAt returns the definition whose Func call spans line (1-based).
func (ix *Index) DefAt(line int) (Def, bool) {
	for _, d := range ix.Defs {
		if d.Call.Contains(line) {
			return d, true
		}
	}
	return Def{}, false
}

// Def returns the definition with the identity, if the file has it.
func (ix *Index) Def(id DefID) (Def, bool) {
	for _, d := range ix.Defs {
		if d.ID == id {
			return d, true
		}
	}
	return Def{}, false
}

// CallAt returns the call of callee whose lines contain line. With an empty
// callee any call matches.
func (ix *Index) CallAt(line int, callee string) (Call, bool) {
	var best Call
	found := false
	for _, c := range ix.Calls {
		if c.Span.Contains(line) && (callee == "" || c.ID.Callee == callee) {
			// The innermost (latest starting) call wins.
			if !found || c.Span.Start >= best.Span.Start {
				best, found = c, true
			}
		}
	}
	return best, found
}

// Match finds the call c (from another version of the file) in this one:
// the call in the same function with the same text (the same one of
// several identical ones), else the one with the same identity.
func (ix *Index) Match(c Call) (Call, bool) {
	if c.Text != "" {
		for _, x := range ix.Calls {
			if x.ID.Func == c.ID.Func && x.Text == c.Text && x.TextOrdinal == c.TextOrdinal {
				return x, true
			}
		}
	}
	return ix.Call(c.ID)
}

// Call returns the call with the identity, if the file has it.
func (ix *Index) Call(id CallID) (Call, bool) {
	for _, c := range ix.Calls {
		if c.ID == id {
			return c, true
		}
	}
	return Call{}, false
}
