// Package hiddeninput reports cached functions whose results depend on
// inputs that are not part of the cache key: package-level variables the
// program changes, the clock (time.Now, time.Since, time.Until),
// randomness (math/rand, math/rand/v2, crypto/rand) and the environment
// (os.Getenv, os.LookupEnv, os.Environ). Such a cache returns results
// computed for an earlier state of those inputs.
//
// Reads are followed through calls to functions of the same package and,
// through facts, of other packages. Package-level variables that the
// package never changes after initialisation (a compiled regexp, a lookup
// table) are not inputs, nor are variables of synchronisation and logging
// types.
package hiddeninput

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"

	"github.com/cachelens/cachelens/diagnostics/cachedfunc"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer reports hidden inputs of cached functions.
var Analyzer = &analysis.Analyzer{
	Name:             "hiddeninput",
	Doc:              "report cached functions that read package variables, the clock, randomness or the environment, which are not part of the cache key",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	FactTypes:        []analysis.Fact{new(Fact)},
	RunDespiteErrors: true,
}

// Fact records that a function reads a hidden input.
type Fact struct {
	Input string // e.g. "time.Now", "package variable lib.region"
}

// AFact marks Fact as an analysis fact.
func (*Fact) AFact() {}

func (f *Fact) String() string { return "hidden(" + f.Input + ")" }

// nondeterministic lists functions whose results are hidden inputs.
var nondeterministic = map[string]map[string]bool{
	"time":        {"Now": true, "Since": true, "Until": true},
	"os":          {"Getenv": true, "LookupEnv": true, "Environ": true, "Hostname": true, "Getwd": true},
	"crypto/rand": {"Read": true, "Int": true, "Prime": true, "Text": true},
}

// randomPackages' package-level functions are all random.
var randomPackages = map[string]bool{"math/rand": true, "math/rand/v2": true}

// exemptPackages hold types whose package variables are not inputs.
var exemptPackages = map[string]bool{"sync": true, "sync/atomic": true, "log": true, "log/slog": true, "expvar": true, "testing": true}

// A use is one hidden input read at a position, possibly through a call.
type use struct {
	input string
	pos   token.Pos
	end   token.Pos
	via   string // the function called that reads it, if indirect
}

type state struct {
	pass    *analysis.Pass
	info    *cachedfunc.Info
	written map[*types.Var]bool
	bodies  map[*types.Func]*ast.BlockStmt
	memo    map[*types.Func][]use
	busy    map[*types.Func]bool
}

func run(pass *analysis.Pass) (any, error) {
	s := &state{
		pass:    pass,
		info:    pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info),
		written: writtenVars(pass),
		bodies:  map[*types.Func]*ast.BlockStmt{},
		memo:    map[*types.Func][]use{},
		busy:    map[*types.Func]bool{},
	}
	for _, f := range pass.Files {
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					s.bodies[fn] = fd.Body
				}
			}
		}
	}
	// The standard library's own package variables (caches, pools) are
	// not the program's inputs; only its clock, random and environment
	// functions are, and those are listed above.
	if inGOROOT(pass) {
		return nil, nil
	}
	// Export facts for exported functions with a hidden input, so other
	// packages that cache or call them learn of it.
	for fn := range s.bodies {
		if !fn.Exported() {
			continue
		}
		if uses := s.usesOf(fn); len(uses) > 0 {
			pass.ExportObjectFact(fn, &Fact{Input: uses[0].input})
		}
	}
	for _, d := range s.info.Defs {
		var uses []use
		switch {
		case d.Lit != nil:
			uses = s.scan(d.Lit.Body)
		case d.Func != nil:
			if _, local := s.bodies[d.Func]; local {
				uses = s.usesOf(d.Func)
			} else if f := s.fact(d.Func); f != nil {
				pass.Report(analysis.Diagnostic{
					Pos: d.Wrapped.Pos(), End: d.Wrapped.End(), Category: "hiddeninput",
					Message: fmt.Sprintf("%s, but it reads %s, which is not part of the cache key", s.subject(d), f.Input),
				})
				continue
			}
		}
		seen := map[string]bool{}
		for _, u := range uses {
			if seen[u.input] {
				continue
			}
			seen[u.input] = true
			msg := fmt.Sprintf("%s, but its result depends on %s, which is not part of the cache key", s.subject(d), u.input)
			if u.via != "" {
				msg = fmt.Sprintf("%s, but it calls %s, which reads %s; that is not part of the cache key", s.subject(d), u.via, u.input)
			}
			pass.Report(analysis.Diagnostic{
				Pos: u.pos, End: u.end, Category: "hiddeninput", Message: msg,
				Related: []analysis.RelatedInformation{{Pos: d.Call.Pos(), End: d.Call.End(), Message: "cached here"}},
			})
		}
	}
	return nil, nil
}

// subject names the cached function: "report is cached by cachedReport",
// or "dice is cached" for a function literal.
func (s *state) subject(d *cachedfunc.Def) string {
	if d.Func == nil {
		return d.Name() + " is cached"
	}
	name := d.Func.Name()
	if d.Func.Pkg() != nil && d.Func.Pkg() != s.pass.Pkg {
		name = d.Func.Pkg().Name() + "." + name
	}
	if d.Holder != nil && d.Holder.Name() != d.Func.Name() {
		return name + " is cached by " + d.Holder.Name()
	}
	return name + " is cached"
}

// inGOROOT reports whether the package is part of the Go distribution.
func inGOROOT(pass *analysis.Pass) bool {
	root := build.Default.GOROOT
	if root == "" || len(pass.Files) == 0 {
		return false
	}
	name := pass.Fset.File(pass.Files[0].FileStart).Name()
	return strings.HasPrefix(name, filepath.Join(root, "src")+string(filepath.Separator))
}

func (s *state) fact(fn *types.Func) *Fact {
	var f Fact
	if fn.Pkg() != nil && fn.Pkg() != s.pass.Pkg && s.pass.ImportObjectFact(fn, &f) {
		return &f
	}
	return nil
}

// usesOf returns the hidden inputs of a function of this package,
// following calls (recursion is cut off).
func (s *state) usesOf(fn *types.Func) []use {
	if u, ok := s.memo[fn]; ok {
		return u
	}
	if s.busy[fn] {
		return nil
	}
	s.busy[fn] = true
	u := s.scan(s.bodies[fn])
	delete(s.busy, fn)
	s.memo[fn] = u
	return u
}

// scan finds the hidden inputs read in body, in source order.
func (s *state) scan(body ast.Node) []use {
	if body == nil {
		return nil
	}
	var out []use
	info := s.pass.TypesInfo
	// Identifiers written to (x = ..., x[k]++) are not reads.
	lhs := map[*ast.Ident]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.ASSIGN || n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := ast.Unparen(e).(*ast.Ident); ok {
						lhs[id] = true
					}
				}
			}
		}
		return true
	})
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			fn, ok := typeutil.Callee(info, n).(*types.Func)
			if !ok || fn.Pkg() == nil {
				return true
			}
			if sig := fn.Signature(); sig.Recv() == nil {
				path := fn.Pkg().Path()
				if nondeterministic[path][fn.Name()] || randomPackages[path] && !strings.HasPrefix(fn.Name(), "New") {
					out = append(out, use{input: fn.Pkg().Name() + "." + fn.Name() + "()", pos: n.Pos(), end: n.End()})
					return true
				}
			}
			if _, local := s.bodies[fn]; local && fn.Pkg() == s.pass.Pkg {
				if inner := s.usesOf(fn); len(inner) > 0 {
					out = append(out, use{input: inner[0].input, pos: n.Pos(), end: n.End(), via: fn.Name()})
				}
			} else if f := s.fact(fn); f != nil {
				out = append(out, use{input: f.Input, pos: n.Pos(), end: n.End(), via: fn.Pkg().Name() + "." + fn.Name()})
			}
		case *ast.Ident:
			v, ok := info.Uses[n].(*types.Var)
			if !ok || v.IsField() || v.Pkg() != s.pass.Pkg || v.Parent() != s.pass.Pkg.Scope() {
				return true
			}
			if s.written[v] && !lhs[n] && !s.exemptVar(v) {
				out = append(out, use{input: "package variable " + v.Name(), pos: n.Pos(), end: n.End()})
			}
		}
		return true
	})
	return out
}

func (s *state) exemptVar(v *types.Var) bool {
	if s.info.HolderOf(v) != nil {
		return true // another cached function: calling it is fine
	}
	t := v.Type()
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil && exemptPackages[n.Obj().Pkg().Path()] {
		return true
	}
	return false
}

// writtenVars returns the package-level variables the package changes
// outside their declarations: assignments (to them or into them),
// increments, and taking their address.
func writtenVars(pass *analysis.Pass) map[*types.Var]bool {
	out := map[*types.Var]bool{}
	mark := func(e ast.Expr) {
		if v := rootVar(pass.TypesInfo, e); v != nil && v.Pkg() == pass.Pkg && v.Parent() == pass.Pkg.Scope() {
			out[v] = true
		}
	}
	for _, f := range pass.Files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for _, e := range n.Lhs {
						mark(e)
					}
				case *ast.IncDecStmt:
					mark(n.X)
				case *ast.UnaryExpr:
					if n.Op == token.AND {
						mark(n.X)
					}
				case *ast.RangeStmt:
					if n.Tok == token.ASSIGN {
						if n.Key != nil {
							mark(n.Key)
						}
						if n.Value != nil {
							mark(n.Value)
						}
					}
				case *ast.CallExpr:
					// delete(m, k), clear(m): changes m.
					if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && len(n.Args) > 0 {
						if b, ok := pass.TypesInfo.Uses[id].(*types.Builtin); ok && (b.Name() == "delete" || b.Name() == "clear") {
							mark(n.Args[0])
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// rootVar returns the variable at the root of x.f[i].g, *p, and so on.
func rootVar(info *types.Info, e ast.Expr) *types.Var {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if _, ok := info.Selections[x]; !ok {
				v, _ := info.Uses[x.Sel].(*types.Var)
				return v
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.Ident:
			v, _ := info.Uses[x].(*types.Var)
			return v
		default:
			return nil
		}
	}
}
