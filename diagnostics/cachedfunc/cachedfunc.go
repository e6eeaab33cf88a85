// Package cachedfunc finds cached functions by type information: calls to
// cacheruntime.Func and its typed variants, the variables and struct
// fields they are assigned to (and aliases of those), and calls through
// them, including cached functions defined in other packages (through
// facts). The other analyzers build on its result.
package cachedfunc

import (
	"go/ast"
	"go/token"
	"go/types"
	"reflect"

	"github.com/cachelens/cachelens/internal/runtimeapi"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer computes an *Info for each package and exports a *Fact for
// every package-level variable and struct field that holds a cached
// function.
var Analyzer = &analysis.Analyzer{
	Name:             "cachedfunc",
	Doc:              "find cached functions (cacheruntime.Func and its typed variants) and the variables, fields and calls that use them",
	Run:              run,
	Requires:         []*analysis.Analyzer{inspect.Analyzer},
	ResultType:       reflect.TypeFor[*Info](),
	FactTypes:        []analysis.Fact{new(Fact)},
	RunDespiteErrors: true,
}

// Fact marks a package-level variable or struct field that holds a cached
// function, so packages that import it know calls through it are cached.
type Fact struct {
	Name          string // display name: the holder's name, or the wrapped function's
	Variant       string // Func, Func1E, ...
	AllowMutation bool
	File          string // the Func call
	Line, Col     int
	CloseOffset   int // byte offset of the Func call's closing parenthesis
}

// AFact marks Fact as an analysis fact.
func (*Fact) AFact() {}

func (f *Fact) String() string { return "cached(" + f.Name + ")" }

// Def is one call to cacheruntime.Func (or a variant) in the package.
type Def struct {
	Call    *ast.CallExpr
	Variant string
	Wrapped ast.Expr         // the function being cached
	Sig     *types.Signature // its type (nil if unknown, e.g. in broken code)
	Func    *types.Func      // the wrapped function or method, if it is named
	Lit     *ast.FuncLit     // the wrapped function literal, if it is one
	Holder  types.Object     // the variable or field it is assigned to, if any
	Options Options
	File    *ast.File
	// Stack holds the enclosing nodes from the file down to the call's
	// parent.
	Stack []ast.Node
}

// Name is how messages refer to the cached function: the name of the
// variable or field holding it, else the wrapped function's name.
func (d *Def) Name() string {
	if d.Holder != nil {
		return d.Holder.Name()
	}
	if d.Func != nil {
		return d.Func.Name()
	}
	return "the cached function"
}

// Options are what the Func call's options say, as far as they can be
// read statically.
type Options struct {
	AllowMutation bool
	// Persist is the Persist (or PersistDir, PersistMaxBytes, WithCodec)
	// option, if given; Codec is set when WithCodec chooses the encoding.
	Persist   *ast.CallExpr
	Codec     bool
	HashFuncs []HashFunc
	Args      []ast.Expr // every option expression
	// Dynamic is set when options are passed as a slice (opts...), so
	// they cannot all be read.
	Dynamic bool
}

// HashFunc is one cacheruntime.HashFunc option.
type HashFunc struct {
	Type types.Type
	Call *ast.CallExpr
}

// Covers reports whether a HashFunc option covers type t.
func (o Options) Covers(t types.Type) bool {
	for _, h := range o.HashFuncs {
		if types.Identical(h.Type, t) {
			return true
		}
	}
	return false
}

// Holder is a variable or field known to hold a cached function, defined
// in this package (Def) or in another (Fact).
type Holder struct {
	Obj  types.Object
	Def  *Def  // set when defined in this package
	Fact *Fact // set when defined in another package
}

// AllowMutation reports whether the cached function allows its results
// to be mutated.
func (h *Holder) AllowMutation() bool {
	if h.Def != nil {
		return h.Def.Options.AllowMutation || h.Def.Options.Dynamic
	}
	return h.Fact.AllowMutation
}

// Name returns the display name.
func (h *Holder) Name() string {
	if h.Obj != nil {
		return h.Obj.Name()
	}
	if h.Def != nil {
		return h.Def.Name()
	}
	return h.Fact.Name
}

// Variant returns the creating function's name.
func (h *Holder) Variant() string {
	if h.Def != nil {
		return h.Def.Variant
	}
	return h.Fact.Variant
}

// Info is the analyzer's result for one package.
type Info struct {
	Defs    []*Def
	holders map[types.Object]*Holder
	direct  map[*ast.CallExpr]*Def // Func(...) calls, by call node
}

// HolderOf returns the holder for obj, or nil.
func (in *Info) HolderOf(obj types.Object) *Holder { return in.holders[obj] }

// Callee reports whether call calls a cached function, and which.
func (in *Info) Callee(info *types.Info, call *ast.CallExpr) *Holder {
	fun := ast.Unparen(call.Fun)
	if inner, ok := fun.(*ast.CallExpr); ok {
		if d := in.direct[inner]; d != nil {
			return &Holder{Def: d}
		}
		return nil
	}
	if obj := ObjectOf(info, fun); obj != nil {
		return in.holders[obj]
	}
	return nil
}

// ObjectOf returns the variable or field an identifier or selector refers
// to, or nil.
func ObjectOf(info *types.Info, e ast.Expr) types.Object {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		if obj := info.Uses[e]; obj != nil {
			return obj
		}
		return info.Defs[e]
	case *ast.SelectorExpr:
		if sel := info.Selections[e]; sel != nil {
			if sel.Kind() == types.FieldVal {
				return sel.Obj()
			}
			return nil
		}
		return info.Uses[e.Sel] // qualified identifier pkg.Name
	}
	return nil
}

// variantOf reports whether call creates a cached function, and with
// which variant.
func variantOf(info *types.Info, call *ast.CallExpr) (string, bool) {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != runtimeapi.Path {
		return "", false
	}
	name := fn.Origin().Name()
	return name, runtimeapi.IsVariant(name)
}

// isRuntimeFunc reports whether call calls the cacheruntime function name.
func isRuntimeFunc(info *types.Info, call *ast.CallExpr, name string) bool {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	return ok && fn.Pkg() != nil && fn.Pkg().Path() == runtimeapi.Path && fn.Origin().Name() == name
}

func run(pass *analysis.Pass) (any, error) {
	in := &Info{holders: map[types.Object]*Holder{}, direct: map[*ast.CallExpr]*Def{}}
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)

	// 1. Func calls.
	insp.WithStack([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		call := n.(*ast.CallExpr)
		variant, ok := variantOf(pass.TypesInfo, call)
		if !ok || len(call.Args) == 0 {
			return true
		}
		// stack ends with the call itself
		d := &Def{Call: call, Variant: variant, Wrapped: call.Args[0], Stack: append([]ast.Node(nil), stack[:len(stack)-1]...)}
		if f, ok := stack[0].(*ast.File); ok {
			d.File = f
		}
		if tv, ok := pass.TypesInfo.Types[d.Wrapped]; ok {
			d.Sig, _ = tv.Type.Underlying().(*types.Signature)
		}
		switch w := ast.Unparen(d.Wrapped).(type) {
		case *ast.FuncLit:
			d.Lit = w
		case *ast.Ident:
			d.Func, _ = pass.TypesInfo.Uses[w].(*types.Func)
		case *ast.SelectorExpr:
			if sel := pass.TypesInfo.Selections[w]; sel != nil {
				d.Func, _ = sel.Obj().(*types.Func)
			} else {
				d.Func, _ = pass.TypesInfo.Uses[w.Sel].(*types.Func)
			}
		}
		d.Options = readOptions(pass.TypesInfo, call)
		in.Defs = append(in.Defs, d)
		in.direct[call] = d
		return true
	})

	// 2. Holders: assignments of Func calls and of other holders, to a
	// fixpoint (an alias may be declared before what it copies).
	type binding struct {
		lhs types.Object
		rhs ast.Expr
	}
	var bindings []binding
	add := func(lhs ast.Expr, rhs ast.Expr) {
		if obj := ObjectOf(pass.TypesInfo, lhs); obj != nil {
			if _, ok := obj.(*types.Var); ok {
				bindings = append(bindings, binding{obj, rhs})
			}
		}
	}
	insp.Preorder([]ast.Node{(*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil), (*ast.CompositeLit)(nil)}, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i := range n.Lhs {
					add(n.Lhs[i], n.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			if len(n.Names) == len(n.Values) {
				for i := range n.Names {
					add(n.Names[i], n.Values[i])
				}
			}
		case *ast.CompositeLit:
			for _, elt := range n.Elts {
				if kv, ok := elt.(*ast.KeyValueExpr); ok {
					if key, ok := kv.Key.(*ast.Ident); ok {
						if fld, ok := pass.TypesInfo.Uses[key].(*types.Var); ok && fld.IsField() {
							bindings = append(bindings, binding{fld, kv.Value})
						}
					}
				}
			}
		}
	})
	for changed := true; changed; {
		changed = false
		for _, b := range bindings {
			if in.holders[b.lhs] != nil {
				continue
			}
			rhs := ast.Unparen(b.rhs)
			if call, ok := rhs.(*ast.CallExpr); ok {
				if d := in.direct[call]; d != nil {
					if d.Holder == nil {
						d.Holder = b.lhs
					}
					in.holders[b.lhs] = &Holder{Obj: b.lhs, Def: d}
					changed = true
				}
				continue
			}
			if obj := ObjectOf(pass.TypesInfo, rhs); obj != nil {
				if h := in.holderOrFact(pass, obj); h != nil {
					in.holders[b.lhs] = &Holder{Obj: b.lhs, Def: h.Def, Fact: h.Fact}
					changed = true
				}
			}
		}
	}

	// 3. Imported holders: every variable or field from another package
	// used in this one.
	for _, obj := range pass.TypesInfo.Uses {
		if v, ok := obj.(*types.Var); ok && v.Pkg() != nil && v.Pkg() != pass.Pkg && in.holders[v] == nil {
			in.holderOrFact(pass, v)
		}
	}
	for _, sel := range pass.TypesInfo.Selections {
		if v, ok := sel.Obj().(*types.Var); ok && v.Pkg() != nil && v.Pkg() != pass.Pkg && in.holders[v] == nil {
			in.holderOrFact(pass, v)
		}
	}

	// 4. Export facts for package-level variables and fields.
	for obj, h := range in.holders {
		if h.Def == nil || obj.Pkg() != pass.Pkg {
			continue
		}
		v, ok := obj.(*types.Var)
		if !ok || !(v.IsField() || v.Parent() == pass.Pkg.Scope()) {
			continue
		}
		pos := pass.Fset.Position(h.Def.Call.Pos())
		pass.ExportObjectFact(obj, &Fact{
			Name:          obj.Name(),
			Variant:       h.Def.Variant,
			AllowMutation: h.Def.Options.AllowMutation || h.Def.Options.Dynamic,
			File:          pos.Filename,
			Line:          pos.Line,
			Col:           pos.Column,
			CloseOffset:   pass.Fset.Position(h.Def.Call.Rparen).Offset,
		})
	}
	return in, nil
}

// holderOrFact returns the holder for obj, importing a fact for objects of
// other packages.
func (in *Info) holderOrFact(pass *analysis.Pass, obj types.Object) *Holder {
	if h := in.holders[obj]; h != nil {
		return h
	}
	if obj.Pkg() == nil || obj.Pkg() == pass.Pkg {
		return nil
	}
	var f Fact
	if pass.ImportObjectFact(obj, &f) {
		h := &Holder{Obj: obj, Fact: &f}
		in.holders[obj] = h
		return h
	}
	return nil
}

// readOptions reads the option arguments of a Func call.
func readOptions(info *types.Info, call *ast.CallExpr) Options {
	var o Options
	if call.Ellipsis != token.NoPos {
		o.Dynamic = true
	}
	for _, arg := range call.Args[1:] {
		o.Args = append(o.Args, arg)
		c, ok := ast.Unparen(arg).(*ast.CallExpr)
		if !ok {
			// An option held in a variable: its effect cannot be read.
			o.Dynamic = true
			continue
		}
		switch {
		case isRuntimeFunc(info, c, "AllowOutputMutation"):
			o.AllowMutation = true
		case isRuntimeFunc(info, c, "Persist"), isRuntimeFunc(info, c, "PersistDir"), isRuntimeFunc(info, c, "PersistMaxBytes"):
			if o.Persist == nil {
				o.Persist = c
			}
		case isRuntimeFunc(info, c, "WithCodec"):
			o.Persist, o.Codec = c, true
		case isRuntimeFunc(info, c, "HashFunc"):
			if t := hashFuncType(info, c); t != nil {
				o.HashFuncs = append(o.HashFuncs, HashFunc{Type: t, Call: c})
			}
		default:
			if fn, ok := typeutil.Callee(info, c).(*types.Func); !ok || fn.Pkg() == nil || fn.Pkg().Path() != runtimeapi.Path {
				// An option made by the program's own function: its
				// effect cannot be read.
				o.Dynamic = true
			}
		}
	}
	return o
}

// hashFuncType returns T of a cacheruntime.HashFunc[T] call.
func hashFuncType(info *types.Info, call *ast.CallExpr) types.Type {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok {
		fun = ix.X
	} else if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	}
	if id == nil {
		return nil
	}
	if inst, ok := info.Instances[id]; ok && inst.TypeArgs.Len() == 1 {
		return inst.TypeArgs.At(0)
	}
	return nil
}
