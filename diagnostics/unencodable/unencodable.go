// Package unencodable reports a cached function whose results are
// persisted (cacheruntime.Persist) with encoding/gob although gob cannot
// encode them faithfully: a struct with unexported fields (gob drops
// them, so a result read back from disk would differ from the one
// computed), a func, a channel, or a struct with no fields to encode. At
// run time such results stay in memory only and each miss reports "not
// persisted"; this check says so before the program runs.
//
// Not reported: functions persisted with WithCodec (the codec decides),
// types that encode themselves (GobEncoder, BinaryMarshaler,
// TextMarshaler), interface values (their dynamic types are checked when
// encoded), and a final error result (errors are never cached).
package unencodable

import (
	"fmt"
	"go/types"

	"github.com/cachelens/cachelens/diagnostics/cachedfunc"
	"golang.org/x/tools/go/analysis"
)

// Analyzer reports persisted results gob cannot encode.
var Analyzer = &analysis.Analyzer{
	Name:             "unencodable",
	Doc:              "report cached functions persisted with encoding/gob whose results gob cannot encode faithfully (unexported fields, funcs, channels)",
	URL:              "https://github.com/cachelens/cachelens#static-checks",
	Run:              run,
	Requires:         []*analysis.Analyzer{cachedfunc.Analyzer},
	RunDespiteErrors: true,
}

func run(pass *analysis.Pass) (any, error) {
	info := pass.ResultOf[cachedfunc.Analyzer].(*cachedfunc.Info)
	for _, d := range info.Defs {
		if d.Options.Persist == nil || d.Options.Codec || d.Sig == nil {
			continue
		}
		res := d.Sig.Results()
		for i := range res.Len() {
			t := res.At(i).Type()
			if i == res.Len()-1 && types.Identical(t, types.Universe.Lookup("error").Type()) {
				continue
			}
			why := problem(t, types.RelativeTo(pass.Pkg), map[types.Type]bool{})
			if why == "" {
				continue
			}
			what := "its result"
			if res.Len() > 1 {
				what = fmt.Sprintf("its result %d", i+1)
			}
			pass.Report(analysis.Diagnostic{
				Pos: d.Options.Persist.Pos(), End: d.Options.Persist.End(), Category: "unencodable",
				Message: fmt.Sprintf("%s is persisted with encoding/gob, but %s (%s) %s: its results will stay in memory only (use cacheruntime.WithCodec, or make the type encodable)",
					d.Name(), what, types.TypeString(t, types.RelativeTo(pass.Pkg)), why),
			})
			break
		}
	}
	return nil, nil
}

// problem says why gob cannot encode values of t faithfully, or "". It
// follows the rules cacheruntime applies at run time (gobProblem).
func problem(t types.Type, q types.Qualifier, seen map[types.Type]bool) string {
	if seen[t] || encodesItself(t) {
		return ""
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Signature:
		return "holds a func, which gob cannot encode"
	case *types.Chan:
		return "holds a channel, which gob cannot encode"
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return "holds an unsafe.Pointer, which gob cannot encode"
		}
	case *types.Pointer:
		return problem(u.Elem(), q, seen)
	case *types.Slice:
		return problem(u.Elem(), q, seen)
	case *types.Array:
		return problem(u.Elem(), q, seen)
	case *types.Map:
		if p := problem(u.Key(), q, seen); p != "" {
			return p
		}
		return problem(u.Elem(), q, seen)
	case *types.Struct:
		if u.NumFields() == 0 {
			return fmt.Sprintf("is or holds %s, which has no fields gob can encode", types.TypeString(t, q))
		}
		for i := range u.NumFields() {
			f := u.Field(i)
			if !f.Exported() {
				return fmt.Sprintf("holds %s, whose unexported field %s gob would drop", types.TypeString(t, q), f.Name())
			}
			if p := problem(f.Type(), q, seen); p != "" {
				return p
			}
		}
	}
	return ""
}

// encodesItself reports whether gob encodes t by a method of its own.
func encodesItself(t types.Type) bool {
	ms := types.NewMethodSet(types.NewPointer(t))
	for _, m := range []string{"GobEncode", "MarshalBinary", "MarshalText"} {
		if sel := ms.Lookup(nil, m); sel != nil {
			return true
		}
	}
	return false
}
