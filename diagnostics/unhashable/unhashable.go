// Package unhashable reports cached functions with a parameter whose type
// cannot be hashed: one that holds a func, chan or unsafe.Pointer at any
// depth (through structs, pointers, slices, arrays and maps, and named
// types from any package, such as *sql.DB) that no HashFunc option
// covers. At run time every call to such a function runs uncached.
//
// context.Context parameters and fields are exempt (they are not part of
// the key); a struct that embeds a context.Context is data.
// Interfaces are not looked into: only what is known statically is
// reported. The quick fixes add a HashFunc that hashes the type by its
// hashable fields, or ignores it.
package unhashable

import (
	"fmt"
	"go/types"
	"strings"

	"github.com/cachelens/cachelens/codeactions"
	"github.com/cachelens/cachelens/diagnostics/cachedfunc"
	"golang.org/x/tools/go/analysis"
)

// Analyzer reports parameters that cannot be hashed.
var Analyzer = &analysis.Analyzer{
	Name:             "unhashable",
	Doc:              "report cached functions whose parameters cannot be hashed (func, chan, unsafe.Pointer inside) and no HashFunc covers",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	RunDespiteErrors: true,
}

func run(pass *analysis.Pass) (any, error) {
	info := pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info)
	qual := qualifier(pass.Pkg)
	for _, d := range info.Defs {
		if d.Sig == nil || d.Options.Dynamic {
			continue
		}
		params := d.Sig.Params()
		for i := range params.Len() {
			p := params.At(i)
			f := find(p.Type(), d.Options)
			if f == nil {
				continue
			}
			name := ""
			if p.Name() != "" && p.Name() != "_" {
				name = p.Name() + " "
			}
			msg := fmt.Sprintf("%s: arg %d %s(%s)%s: %s cannot be hashed, so every call runs uncached",
				d.Name(), i+1, name, types.TypeString(p.Type(), qual), f.Path, types.TypeString(f.Leaf, qual))
			diag := analysis.Diagnostic{Pos: d.Wrapped.Pos(), End: d.Wrapped.End(), Category: "unhashable", Message: msg}
			diag.SuggestedFixes = fixes(pass, d, f)
			pass.Report(diag)
		}
	}
	return nil, nil
}

// A Finding is the first value inside a parameter type that cannot be
// hashed.
type Finding struct {
	Leaf    types.Type   // the unhashable type (func, chan, unsafe.Pointer)
	Path    string       // where inside: ".Send", "[].conn"
	Types   []types.Type // the types along the path, outermost first
	Suggest types.Type   // the type a HashFunc should cover
}

// find returns the first unhashable value inside t, in the order the
// runtime hashes, or nil. Types covered by opts' HashFuncs, contexts and
// interfaces are not looked into.
func find(t types.Type, opts cachedfunc.Options) *Finding {
	w := &walker{opts: opts, seen: map[types.Type]bool{}}
	if !w.walk(t) {
		return nil
	}
	f := &Finding{Leaf: w.types[len(w.types)-1], Path: strings.Join(w.path, ""), Types: w.types}
	f.Suggest = suggest(w.types)
	return f
}

type walker struct {
	opts  cachedfunc.Options
	seen  map[types.Type]bool
	path  []string
	types []types.Type
}

func (w *walker) walk(t types.Type) bool {
	if w.opts.Covers(t) || isContext(t) {
		return false
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		if w.seen[n] {
			return false
		}
		w.seen[n] = true
	}
	w.types = append(w.types, t)
	found := false
	switch u := t.Underlying().(type) {
	case *types.Signature, *types.Chan:
		found = true
	case *types.Basic:
		found = u.Kind() == types.UnsafePointer
	case *types.Pointer:
		found = w.walk(u.Elem())
	case *types.Slice:
		found = w.step("[]", u.Elem())
	case *types.Array:
		found = w.step("[]", u.Elem())
	case *types.Map:
		found = w.step("[key]", u.Key()) || w.step("[]", u.Elem())
	case *types.Struct:
		for i := range u.NumFields() {
			fld := u.Field(i)
			if fld.Name() == "_" {
				continue
			}
			if w.step("."+fld.Name(), fld.Type()) {
				found = true
				break
			}
		}
	}
	if !found {
		w.types = w.types[:len(w.types)-1]
	}
	return found
}

func (w *walker) step(seg string, t types.Type) bool {
	w.path = append(w.path, seg)
	if w.walk(t) {
		return true
	}
	w.path = w.path[:len(w.path)-1]
	return false
}

// qualifier names types in messages: unqualified in pkg, by package
// name elsewhere (sql.DB).
func qualifier(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
}

// isContext reports whether values of t are left out of cache keys: t is
// context.Context or an interface type that has its methods (Deadline,
// Done, Err, Value). A concrete type that implements context.Context, such
// as a struct embedding one, is data and is hashed (its embedded
// context.Context field is left out), as at run time.
func isContext(t types.Type) bool {
	iface, ok := types.Unalias(t).Underlying().(*types.Interface)
	if !ok {
		return false
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		if obj := n.Obj(); obj.Pkg() != nil && obj.Pkg().Path() == "context" && obj.Name() == "Context" {
			return true
		}
	}
	need := map[string]bool{"Deadline": true, "Done": true, "Err": true, "Value": true}
	for i := range iface.NumMethods() {
		delete(need, iface.Method(i).Name())
	}
	return len(need) == 0
}

// suggest picks the type a HashFunc should cover: the first named type on
// the path (a pointer to a named type counts), as the runtime does.
func suggest(ts []types.Type) types.Type {
	for _, t := range ts {
		switch u := types.Unalias(t).(type) {
		case *types.Named:
			if _, iface := u.Underlying().(*types.Interface); !iface {
				return t
			}
		case *types.Pointer:
			if _, ok := types.Unalias(u.Elem()).(*types.Named); ok {
				return t
			}
		}
	}
	return ts[len(ts)-1]
}

// hashableFields returns the fields of t's struct (or of the struct t
// points to) that code in pkg can read and that can be hashed.
func hashableFields(t types.Type, pkg *types.Package, opts cachedfunc.Options) []string {
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	st, ok := u.(*types.Struct)
	if !ok {
		return nil
	}
	var out []string
	for i := range st.NumFields() {
		f := st.Field(i)
		if f.Name() == "_" || (!f.Exported() && f.Pkg() != pkg) {
			continue
		}
		if isContext(f.Type()) || find(f.Type(), opts) != nil {
			continue
		}
		out = append(out, f.Name())
	}
	return out
}

func fixes(pass *analysis.Pass, d *cachedfunc.Def, f *Finding) []analysis.SuggestedFix {
	file, err := codeactions.PassFile(pass, d.File)
	if err != nil {
		return nil
	}
	var out []analysis.SuggestedFix
	tname := types.TypeString(f.Suggest, qualifier(pass.Pkg))
	add := func(msg string, fields []string) {
		opt, imports := codeactions.HashFuncOption(file, f.Suggest, fields)
		edits, err := codeactions.AddOption(file, d.Call, opt, imports)
		if err != nil {
			return
		}
		if fix, ok := codeactions.SuggestedFix(pass.Fset, msg, edits); ok {
			out = append(out, fix)
		}
	}
	if fields := hashableFields(f.Suggest, pass.Pkg, d.Options); len(fields) > 0 {
		add(fmt.Sprintf("Hash %s by its hashable fields (%s)", tname, strings.Join(fields, ", ")), fields)
	}
	add(fmt.Sprintf("Ignore %s when hashing", tname), nil)
	return out
}
