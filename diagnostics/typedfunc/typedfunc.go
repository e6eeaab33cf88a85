// Package typedfunc reports cacheruntime.Func wrapping a function that a
// typed variant (Func0…Func3, Func0E…Func3E) caches without reflection.
// Func works for any signature through reflect.MakeFunc, whose call boxes
// every argument and result: a hit costs about ten times a typed hit and
// allocates. The typed variants behave exactly like Func (keys, mutation
// checks, errors not cached, reports), so the fix only renames the call.
//
// Not reported, because no typed variant has the same meaning: functions
// of more than three parameters, variadic functions, functions with no
// result, with two results the second of which is not error, or with
// error as the only result (Func leaves a non-nil error uncached; Func0
// would cache it); and functions whose type is a defined type (Func
// returns that type, the typed variants an unnamed func type).
package typedfunc

import (
	"fmt"
	"go/ast"
	"go/types"

	"github.com/cachelens/cachelens/diagnostics/cachedfunc"
	"golang.org/x/tools/go/analysis"
)

// Analyzer reports Func calls a typed variant would serve.
var Analyzer = &analysis.Analyzer{
	Name:             "typedfunc",
	Doc:              "report cacheruntime.Func (reflection) where a typed variant such as Func2 caches the same function several times faster, without allocating",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	RunDespiteErrors: true,
}

func run(pass *analysis.Pass) (any, error) {
	info := pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info)
	for _, d := range info.Defs {
		if d.Variant != "Func" || d.Sig == nil {
			continue
		}
		// F, the type Func returns, must be the signature itself: a
		// defined func type would change the holder's type.
		if tv, ok := pass.TypesInfo.Types[d.Wrapped]; !ok {
			continue
		} else if _, ok := types.Unalias(tv.Type).(*types.Signature); !ok {
			continue
		}
		typed := variantFor(d.Sig)
		if typed == "" {
			continue
		}
		name, at := funcIdent(d.Call.Fun)
		if name == nil {
			continue
		}
		diag := analysis.Diagnostic{
			Pos: d.Call.Pos(), End: d.Call.End(), Category: "typedfunc",
			Message: fmt.Sprintf("cacheruntime.Func caches %s through reflection: each hit costs about ten times a typed cache's and allocates; cacheruntime.%s caches it the same way without reflection",
				d.Name(), typed),
		}
		edits := []analysis.TextEdit{{Pos: name.Pos(), End: name.End(), NewText: []byte(typed)}}
		if at != nil {
			// Func[F](fn): the typed variant infers its type arguments.
			edits = append(edits, analysis.TextEdit{Pos: at.Lbrack, End: at.Rbrack + 1})
		}
		diag.SuggestedFixes = []analysis.SuggestedFix{{Message: "Use cacheruntime." + typed + " (no reflection)", TextEdits: edits}}
		pass.Report(diag)
	}
	return nil, nil
}

// variantFor returns the typed variant that caches functions of signature sig
// exactly as Func does, or "" if there is none.
func variantFor(sig *types.Signature) string {
	if sig.Variadic() || sig.TypeParams().Len() > 0 {
		return ""
	}
	n := sig.Params().Len()
	if n > 3 {
		return ""
	}
	errType := types.Universe.Lookup("error").Type()
	res := sig.Results()
	switch {
	case res.Len() == 1 && !types.Identical(res.At(0).Type(), errType):
		return fmt.Sprintf("Func%d", n)
	case res.Len() == 2 && types.Identical(res.At(1).Type(), errType):
		return fmt.Sprintf("Func%dE", n)
	}
	return ""
}

// funcIdent finds the identifier naming Func in a call's function
// expression (Func, pkg.Func, Func[F], pkg.Func[F]) and the type argument
// list, if any.
func funcIdent(fun ast.Expr) (*ast.Ident, *ast.IndexExpr) {
	fun = ast.Unparen(fun)
	ix, _ := fun.(*ast.IndexExpr)
	if ix != nil {
		fun = ast.Unparen(ix.X)
	}
	switch f := fun.(type) {
	case *ast.Ident:
		return f, ix
	case *ast.SelectorExpr:
		return f.Sel, ix
	}
	return nil, nil
}
