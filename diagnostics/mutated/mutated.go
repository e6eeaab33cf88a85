// Package mutated reports code that changes a result returned by a cached
// function. Every caller of a cached function shares one result, so a
// change made by one caller is seen by every later call (the runtime
// detects it on the next hit and recomputes, at a cost; this check finds
// it before the program runs).
//
// Reported: field and element assignments, increments, writes through
// pointers, delete and clear, in-place sorts and other in-place slice and
// map functions (sort.*, slices.Sort*, slices.Reverse, slices.Delete,
// maps.Copy, copy), and appends that may write into the cached slice's
// backing array, made through the variable that received the result or
// any variable derived from it (aliases, sub-slices, range variables,
// pointers into it). Not reported: results of a function created with
// AllowOutputMutation, values that were cloned first
// (cacheruntime.Clone), and writes to local copies of values.
//
// Not followed: calls that pass the result to another function or call
// its pointer methods.
package mutated

import (
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

// Analyzer reports mutations of cached results.
var Analyzer = &analysis.Analyzer{
	Name:             "mutated",
	Doc:              "report code that changes a result returned by a cached function (shared by every later call)",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	FactTypes:        []analysis.Fact{new(Fact)},
	RunDespiteErrors: true,
}

// origin is where a tracked value came from: a call through a cached
// function.
type origin struct {
	// param is set in the summary phase: the value is (part of) this
	// parameter (index -1 is the receiver) of the function being
	// summarized.
	param  int
	inSum  bool
	holder *cachedfunc.Holder
	call   *ast.CallExpr // the cached call
	stmt   ast.Stmt      // the statement that received it (nil at package level)
	spec   *ast.ValueSpec
	name   string // the variable that received it
	multi  bool   // the call has several results
	file   *ast.File
}

type checker struct {
	pass    *analysis.Pass
	info    *cachedfunc.Info
	tracked map[types.Object]*origin
	file    *ast.File
	stmts   []ast.Stmt // enclosing statements, innermost last

	// Summaries of the package's functions: which parameters they change.
	sums    map[*types.Func]map[int]string
	current *types.Func // the function being summarized, if any
	changed bool
}

// Fact records which parameters a function changes (index -1 is the
// receiver), with a description of the first change of each.
type Fact struct {
	Params []int
	Descs  []string
}

// AFact marks Fact as an analysis fact.
func (*Fact) AFact() {}

func (f *Fact) String() string { return fmt.Sprintf("mutates%v", f.Params) }

func run(pass *analysis.Pass) (any, error) {
	c := &checker{pass: pass, info: pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info), tracked: map[types.Object]*origin{},
		sums: map[*types.Func]map[int]string{}}
	c.summarize()
	// Package-level variables that receive cached results.
	for _, f := range pass.Files {
		c.file = f
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				c.define(identsOf(vs.Names), vs.Values, nil, vs)
			}
		}
	}
	for _, f := range pass.Files {
		c.file = f
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				saved := c.snapshot()
				c.walk(fd.Body)
				c.tracked = saved
			}
		}
	}
	return nil, nil
}

// summarize works out which parameters each function of the package
// changes, following calls between them to a fixpoint, and exports facts
// for the exported ones.
func (c *checker) summarize() {
	type fn struct {
		obj  *types.Func
		decl *ast.FuncDecl
		file *ast.File
	}
	var fns []fn
	for _, f := range c.pass.Files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			if obj, ok := c.pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
				fns = append(fns, fn{obj, fd, f})
			}
		}
	}
	for round := 0; round < 10; round++ {
		c.changed = false
		for _, f := range fns {
			c.file, c.current = f.file, f.obj
			c.tracked = map[types.Object]*origin{}
			params := func(list *ast.FieldList, base int) {
				if list == nil {
					return
				}
				i := base
				for _, field := range list.List {
					names := field.Names
					if len(names) == 0 {
						i++
						continue
					}
					for _, n := range names {
						if obj, ok := c.pass.TypesInfo.Defs[n].(*types.Var); ok && !isValueOnly(obj.Type()) {
							c.tracked[obj] = &origin{param: i, inSum: true, name: n.Name}
						}
						i++
					}
				}
			}
			params(f.decl.Recv, -1)
			params(f.decl.Type.Params, 0)
			if len(c.tracked) > 0 {
				c.walk(f.decl.Body)
			}
		}
		if !c.changed {
			break
		}
	}
	c.current = nil
	c.tracked = map[types.Object]*origin{}
	for obj, m := range c.sums {
		if !obj.Exported() || len(m) == 0 {
			continue
		}
		fact := &Fact{}
		for i := -1; i < obj.Signature().Params().Len(); i++ {
			if d, ok := m[i]; ok {
				fact.Params = append(fact.Params, i)
				fact.Descs = append(fact.Descs, d)
			}
		}
		c.pass.ExportObjectFact(obj, fact)
	}
}

// mutatedParams returns what fn changes of its parameters, from the
// package's summaries or another package's fact.
func (c *checker) mutatedParams(fn *types.Func) map[int]string {
	if m, ok := c.sums[fn]; ok {
		return m
	}
	if fn.Pkg() != nil && fn.Pkg() != c.pass.Pkg {
		var f Fact
		if c.pass.ImportObjectFact(fn, &f) {
			m := map[int]string{}
			for i, p := range f.Params {
				m[p] = f.Descs[i]
			}
			return m
		}
	}
	return nil
}

func identsOf(ids []*ast.Ident) []ast.Expr {
	out := make([]ast.Expr, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func (c *checker) snapshot() map[types.Object]*origin {
	m := make(map[types.Object]*origin, len(c.tracked))
	for k, v := range c.tracked {
		m[k] = v
	}
	return m
}

// walk visits a function body in source order, updating what is tracked
// at assignments and reporting mutations.
func (c *checker) walk(body ast.Node) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			c.withStmt(n, func() {
				for _, r := range n.Rhs {
					c.walk(r)
				}
				if n.Tok != token.DEFINE {
					for _, l := range n.Lhs {
						c.checkWrite(l, "assignment to "+render(c.pass.Fset, l))
						c.walkSubexprs(l)
					}
				}
				if n.Tok == token.DEFINE || n.Tok == token.ASSIGN {
					c.define(n.Lhs, n.Rhs, n, nil)
				}
			})
			return false
		case *ast.DeclStmt:
			if gd, ok := n.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for _, v := range vs.Values {
						c.walk(v)
					}
					c.withStmt(n, func() { c.define(identsOf(vs.Names), vs.Values, n, vs) })
				}
				return false
			}
		case *ast.IncDecStmt:
			c.checkWrite(n.X, render(c.pass.Fset, n.X)+n.Tok.String())
		case *ast.RangeStmt:
			c.walk(n.X)
			if n.Value != nil {
				if o := c.originOf(n.X); o != nil && !isValueOnly(c.typeOf(n.Value)) {
					if obj := cachedfunc.ObjectOf(c.pass.TypesInfo, n.Value); obj != nil {
						c.tracked[obj] = o
					}
				}
			}
			c.withStmt(n, func() { c.walk(n.Body) })
			return false
		case *ast.CallExpr:
			c.checkCall(n)
		}
		return true
	})
}

// walkSubexprs checks calls inside an assignment's left-hand side (index
// expressions may call functions).
func (c *checker) walkSubexprs(e ast.Expr) {
	ast.Inspect(e, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			c.checkCall(call)
		}
		return true
	})
}

func (c *checker) withStmt(s ast.Stmt, f func()) {
	c.stmts = append(c.stmts, s)
	f()
	c.stmts = c.stmts[:len(c.stmts)-1]
}

// define updates tracking for an assignment or declaration.
func (c *checker) define(lhs, rhs []ast.Expr, stmt ast.Stmt, spec *ast.ValueSpec) {
	set := func(l ast.Expr, o *origin) {
		id, ok := ast.Unparen(l).(*ast.Ident)
		if !ok || id.Name == "_" {
			return
		}
		obj := cachedfunc.ObjectOf(c.pass.TypesInfo, id)
		if obj == nil {
			return
		}
		if o == nil || isValueOnly(obj.Type()) {
			delete(c.tracked, obj) // reassigned with something else
			return
		}
		c.tracked[obj] = o
	}
	if len(rhs) == 1 && len(lhs) > 1 {
		// x, err := cached(...)
		call, ok := ast.Unparen(rhs[0]).(*ast.CallExpr)
		var h *cachedfunc.Holder
		if ok {
			h = c.info.Callee(c.pass.TypesInfo, call)
		}
		for _, l := range lhs {
			if h == nil || h.AllowMutation() || isError(c.typeOf(l)) {
				set(l, nil)
				continue
			}
			set(l, &origin{holder: h, call: call, stmt: stmt, spec: spec, name: exprName(l), multi: true, file: c.file})
		}
		return
	}
	if len(lhs) != len(rhs) {
		return
	}
	for i := range lhs {
		o := c.originOf(rhs[i])
		if o != nil && o.name == "" {
			// The value comes straight from the cached call: this
			// variable is where it was received.
			o = &origin{holder: o.holder, call: o.call, stmt: stmt, spec: spec, name: exprName(lhs[i]), file: c.file}
		}
		set(lhs[i], o)
	}
}

// originOf returns the origin of the value e evaluates to, if it is (part
// of, or an alias into) a cached result.
func (c *checker) originOf(e ast.Expr) *origin {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if _, ok := c.pass.TypesInfo.Selections[x]; !ok {
				// qualified identifier pkg.Var
				if obj := c.pass.TypesInfo.Uses[x.Sel]; obj != nil {
					return c.tracked[obj]
				}
				return nil
			}
			e = x.X
		case *ast.IndexExpr:
			if _, ok := c.typeOf(x.X).Underlying().(*types.Signature); ok {
				return nil // generic function instantiation
			}
			e = x.X
		case *ast.SliceExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.UnaryExpr:
			if x.Op != token.AND {
				return nil
			}
			e = x.X
		case *ast.TypeAssertExpr:
			e = x.X
		case *ast.Ident:
			if obj := c.pass.TypesInfo.Uses[x]; obj != nil {
				return c.tracked[obj]
			}
			return nil
		case *ast.CallExpr:
			if tv, ok := c.pass.TypesInfo.Types[x.Fun]; ok && tv.IsType() && len(x.Args) == 1 {
				e = x.Args[0] // conversion
				continue
			}
			if isBuiltin(c.pass.TypesInfo, x, "append") && len(x.Args) > 0 {
				e = x.Args[0]
				continue
			}
			if h := c.info.Callee(c.pass.TypesInfo, x); h != nil && !h.AllowMutation() {
				if sig, ok := c.typeOf(x.Fun).Underlying().(*types.Signature); ok && sig.Results().Len() == 1 && isValueOnly(sig.Results().At(0).Type()) {
					return nil
				}
				return &origin{holder: h, call: x, file: c.file}
			}
			return nil
		default:
			return nil
		}
	}
}

// checkWrite reports a write to lhs if it goes through memory shared with
// a cached result.
func (c *checker) checkWrite(lhs ast.Expr, what string) {
	if !c.throughShared(lhs) {
		return
	}
	if o := c.originOf(lhs); o != nil {
		c.report(lhs, what, o)
	}
}

// throughShared reports whether writing to e writes into memory reached
// through a pointer, slice or map (not into a local variable or a copy).
func (c *checker) throughShared(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			return true
		case *ast.SelectorExpr:
			if _, ok := c.typeOf(x.X).Underlying().(*types.Pointer); ok {
				return true
			}
			e = x.X
		case *ast.IndexExpr:
			switch c.typeOf(x.X).Underlying().(type) {
			case *types.Slice, *types.Map, *types.Pointer:
				return true
			}
			e = x.X
		default:
			return false
		}
	}
}

var inPlace = map[string]map[string]int{
	"sort":   {"Slice": 0, "SliceStable": 0, "Sort": 0, "Stable": 0, "Strings": 0, "Ints": 0, "Float64s": 0},
	"slices": {"Sort": 0, "SortFunc": 0, "SortStableFunc": 0, "Reverse": 0, "Delete": 0, "DeleteFunc": 0, "Compact": 0, "CompactFunc": 0, "Insert": 0, "Replace": 0},
	"maps":   {"Copy": 0, "DeleteFunc": 0},
}

// checkCall reports builtins and library functions that change their
// argument in place.
func (c *checker) checkCall(call *ast.CallExpr) {
	switch {
	case isBuiltin(c.pass.TypesInfo, call, "delete"), isBuiltin(c.pass.TypesInfo, call, "clear"), isBuiltin(c.pass.TypesInfo, call, "copy"):
		if len(call.Args) > 0 {
			if o := c.originOf(call.Args[0]); o != nil && c.refType(call.Args[0]) {
				c.report(call, render(c.pass.Fset, call.Fun)+" on "+render(c.pass.Fset, call.Args[0]), o)
			}
		}
		return
	case isBuiltin(c.pass.TypesInfo, call, "append"):
		if len(call.Args) > 1 || call.Ellipsis != token.NoPos {
			if o := c.originOf(call.Args[0]); o != nil {
				c.report(call, "append to "+render(c.pass.Fset, call.Args[0])+" may write into its backing array, which", o)
			}
		}
		return
	}
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return
	}
	if m := c.mutatedParams(fn); len(m) > 0 {
		for i, desc := range m {
			var arg ast.Expr
			switch {
			case i == -1:
				if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && c.pass.TypesInfo.Selections[sel] != nil {
					arg = sel.X
				}
			case i < len(call.Args):
				arg = call.Args[i]
			}
			if arg == nil {
				continue
			}
			if o := c.originOf(arg); o != nil {
				what := fmt.Sprintf("%s, which changes its argument (%s),", fn.Name(), desc)
				if i == -1 {
					what = fmt.Sprintf("method %s, which changes its receiver (%s),", fn.Name(), desc)
				}
				if o.inSum {
					// A summary of a summary: the chain of calls, then
					// the change ("through discountTwice → discount:
					// assignment to c.Price").
					what = "through " + fn.Name() + ": " + desc
					if rest, ok := strings.CutPrefix(desc, "through "); ok {
						what = "through " + fn.Name() + " → " + rest
					}
				}
				c.report(call, what, o)
			}
		}
	}
	if len(call.Args) == 0 {
		return
	}
	if names, ok := inPlace[fn.Pkg().Path()]; ok {
		if arg, ok := names[fn.Name()]; ok && arg < len(call.Args) {
			if sig := fn.Signature(); sig.Recv() != nil {
				return
			}
			if o := c.originOf(call.Args[arg]); o != nil {
				c.report(call, fn.Pkg().Name()+"."+fn.Name()+" on "+render(c.pass.Fset, call.Args[arg])+" works in place and", o)
			}
		}
	}
}

// refType reports whether e's type is a map or slice (so delete/clear/copy
// change shared memory even through a copied struct).
func (c *checker) refType(e ast.Expr) bool {
	switch c.typeOf(e).Underlying().(type) {
	case *types.Map, *types.Slice:
		return true
	}
	return false
}

// clause turns what, written to go before "changes the result cached by"
// (ending in its connector: "…, which", "… and"), into a description that
// stands on its own, as summaries keep it.
func clause(what string) string {
	for _, connector := range []string{", which", " and", ","} {
		what = strings.TrimSuffix(what, connector)
	}
	return what
}

func (c *checker) report(n ast.Node, what string, o *origin) {
	if o.inSum {
		// Summarizing: remember that the function changes this parameter.
		m := c.sums[c.current]
		if m == nil {
			m = map[int]string{}
			c.sums[c.current] = m
		}
		if _, ok := m[o.param]; !ok {
			m[o.param] = clause(what)
			c.changed = true
		}
		return
	}
	if c.current != nil {
		return // cached results are reported in the second phase
	}
	name := o.holder.Name()
	pos := c.pass.Fset.Position(o.call.Pos())
	msg := fmt.Sprintf("%s changes the result cached by %s (received at line %d), which every later call returns", what, name, pos.Line)
	d := analysis.Diagnostic{
		Pos: n.Pos(), End: n.End(), Category: "mutated", Message: msg,
		Related: []analysis.RelatedInformation{{Pos: o.call.Pos(), End: o.call.End(), Message: "the cached result is received here"}},
	}
	d.SuggestedFixes = c.fixes(o)
	c.pass.Report(d)
}

func (c *checker) fixes(o *origin) []analysis.SuggestedFix {
	var out []analysis.SuggestedFix
	if o.name == "" && o.stmt == nil && o.spec == nil {
		// The cached call is used in place (passed on, or written
		// through): clone it there.
		if _, tuple := c.typeOf(o.call).(*types.Tuple); !tuple {
			if f, err := codeactions.PassFile(c.pass, o.file); err == nil {
				if edits, err := codeactions.WrapInClone(f, o.call); err == nil {
					if fix, ok := codeactions.SuggestedFix(c.pass.Fset, "Work on a copy (cacheruntime.Clone)", edits); ok {
						out = append(out, fix)
					}
				}
			}
		}
	} else if o.name != "" {
		if f, err := codeactions.PassFile(c.pass, o.file); err == nil {
			var edits []codeactions.Edit
			if o.multi && o.stmt != nil {
				edits, err = codeactions.CloneAfter(f, o.stmt, o.name)
			} else if !o.multi {
				edits, err = codeactions.WrapInClone(f, o.call)
			} else {
				err = fmt.Errorf("no statement")
			}
			if err == nil {
				if fix, ok := codeactions.SuggestedFix(c.pass.Fset, "Work on a copy (cacheruntime.Clone)", edits); ok {
					out = append(out, fix)
				}
			}
		}
	}
	msg := fmt.Sprintf("Allow mutation of %s's result", o.holder.Name())
	var edits []codeactions.Edit
	var err error
	if d := o.holder.Def; d != nil {
		var f *codeactions.File
		if f, err = codeactions.PassFile(c.pass, d.File); err == nil {
			var need []codeactions.Import
			rt := f.RuntimeName(&need)
			edits, err = codeactions.AddOption(f, d.Call, rt+".AllowOutputMutation()", need)
		}
	} else if fact := o.holder.Fact; fact != nil {
		var src []byte
		if src, err = codeactions.ReadFile(c.pass, fact.File); err == nil {
			edits, err = codeactions.AllowMutation(fact.File, src, fact.CloseOffset)
		}
	}
	if err == nil {
		if fix, ok := codeactions.SuggestedFix(c.pass.Fset, msg, edits); ok {
			out = append(out, fix)
		}
	}
	return out
}

func (c *checker) typeOf(e ast.Expr) types.Type {
	if t := c.pass.TypesInfo.TypeOf(e); t != nil {
		return t
	}
	return types.Typ[types.Invalid]
}

// isValueOnly reports whether values of t cannot reach shared memory (no
// pointers, slices, maps, interfaces or channels inside), so a copy is
// independent of the cached value.
func isValueOnly(t types.Type) bool {
	seen := map[types.Type]bool{}
	var ok func(t types.Type) bool
	ok = func(t types.Type) bool {
		if seen[t] {
			return true
		}
		seen[t] = true
		switch u := t.Underlying().(type) {
		case *types.Basic:
			return u.Kind() != types.UnsafePointer && u.Kind() != types.Invalid
		case *types.Array:
			return ok(u.Elem())
		case *types.Struct:
			for i := range u.NumFields() {
				if !ok(u.Field(i).Type()) {
					return false
				}
			}
			return true
		case *types.Signature:
			return true
		}
		return false
	}
	return ok(t)
}

func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

func isBuiltin(info *types.Info, call *ast.CallExpr, name string) bool {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := info.Uses[id].(*types.Builtin)
	return ok && b.Name() == name
}

func exprName(e ast.Expr) string {
	if id, ok := ast.Unparen(e).(*ast.Ident); ok && id.Name != "_" {
		return id.Name
	}
	return ""
}

// render prints a short form of an expression for messages.
func render(fset *token.FileSet, e ast.Expr) string {
	s := types.ExprString(e)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
