package driver

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/packages"
)

// The parse and type-check the driver does itself, for packages whose
// syntax it builds without go/packages: an edited package (Update) and the
// packages the package cache could not answer (checkFromExport).

// parseGo parses one file of a package (src nil: read it from disk) and
// returns its syntax, nil if nothing could be parsed, and its errors.
func parseGo(fset *token.FileSet, name string, src any) (*ast.File, []packages.Error) {
	f, err := parser.ParseFile(fset, name, src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
	if err == nil {
		return f, nil
	}
	if list, ok := err.(scanner.ErrorList); ok {
		errs := make([]packages.Error, 0, len(list))
		for _, e := range list {
			errs = append(errs, packages.Error{Pos: e.Pos.String(), Msg: e.Msg, Kind: packages.ParseError})
		}
		return f, errs
	}
	return f, []packages.Error{{Pos: name, Msg: err.Error(), Kind: packages.ParseError}}
}

// typeCheck type-checks files as the package at path of module mod, with
// everything the analyzers read recorded, and returns the package, its
// type information and its type errors (also as package errors).
func typeCheck(path string, mod *packages.Module, fset *token.FileSet, files []*ast.File, sizes types.Sizes, imp types.Importer) (*types.Package, *types.Info, []types.Error, []packages.Error) {
	info := &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Instances:    map[*ast.Ident]types.Instance{},
		Scopes:       map[ast.Node]*types.Scope{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		FileVersions: map[*ast.File]string{},
	}
	var typeErrs []types.Error
	cfg := &types.Config{
		Importer: imp,
		Sizes:    sizes,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				typeErrs = append(typeErrs, te)
			}
		},
	}
	if mod != nil && mod.GoVersion != "" {
		cfg.GoVersion = "go" + mod.GoVersion
	}
	tpkg, _ := cfg.Check(path, fset, files, info)
	errs := make([]packages.Error, 0, len(typeErrs))
	for _, te := range typeErrs {
		errs = append(errs, packages.Error{Pos: te.Fset.Position(te.Pos).String(), Msg: te.Msg, Kind: packages.TypeError})
	}
	return tpkg, info, typeErrs, errs
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
