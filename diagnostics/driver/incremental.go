package driver

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
)

// Update gives files new contents (editor buffers) and re-checks the
// packages that contain them: their changed files are re-parsed and the
// packages type-checked again against the types already loaded for their
// imports; then the workspace packages that import them are re-checked
// too, and the analyzers run on everything re-checked. It returns the
// findings of all roots and the paths of the re-checked packages.
//
// Files that belong to no loaded package are reported in unknown: the
// caller must load again (go list) to pick them up.
func (p *Program) Update(changed map[string][]byte, analyzers []*analysis.Analyzer) (res Result, rechecked []string, unknown []string) {
	for name, src := range changed {
		p.overlay[name] = src
	}
	dirty := map[*packages.Package]bool{}
	for name := range changed {
		found := false
		newImport := false
		for _, pkg := range p.Packages {
			if slices.Contains(pkg.CompiledGoFiles, name) {
				dirty[pkg] = true
				found = true
				// An import the package did not have is not loaded:
				// the caller must load again.
				newImport = newImport || !importsWithin(name, changed[name], func(path string) bool { return pkg.Imports[path] != nil })
			}
		}
		if newImport || !found && !p.sameImports(name, changed[name]) {
			unknown = append(unknown, name)
		}
	}
	// Importers of re-checked packages must be re-checked (they hold the
	// old types), in dependency order; Packages is already in that order.
	var order []*packages.Package
	var replaced []*token.File
	for _, pkg := range p.Packages {
		if !dirty[pkg] {
			for _, imp := range pkg.Imports {
				if dirty[imp] || dirty[p.byID(imp.ID)] {
					dirty[pkg] = true
					break
				}
			}
		}
		if dirty[pkg] {
			for _, f := range pkg.Syntax {
				if tf := pkg.Fset.File(f.FileStart); tf != nil && isChanged(changed, tf.Name()) {
					replaced = append(replaced, tf)
				}
			}
			if err := p.recheck(pkg, changed); err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("re-checking %s: %w", pkg.PkgPath, err))
			}
			order = append(order, pkg)
			rechecked = append(rechecked, pkg.PkgPath)
		}
	}
	r := p.run(analyzers, order)
	r.Errors = append(res.Errors, r.Errors...)
	// The replaced files' position tables go: the file set would
	// otherwise keep one per edit.
	for _, tf := range replaced {
		p.Fset.RemoveFile(tf)
	}
	return r, rechecked, unknown
}

// sameImports reports whether name is a file of a package that Load left
// out (Config.Requires) and src imports nothing its package did not: the
// package still need not be analyzed.
func (p *Program) sameImports(name string, src []byte) bool {
	had, ok := p.skipped[name]
	if !ok {
		return false
	}
	return importsWithin(name, src, func(path string) bool { return had[path] })
}

// importsWithin reports whether the file src imports only paths known
// accepts. A file whose imports cannot be parsed imports nothing new: its
// syntax error is reported by the re-check.
func importsWithin(name string, src []byte, known func(string) bool) bool {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if f == nil {
		return err == nil
	}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err == nil && path != "C" && path != "unsafe" && !known(path) {
			return false
		}
	}
	return true
}

// Owns reports whether path is a file of one of p's packages, analyzed or
// left out (Config.Requires).
func (p *Program) Owns(path string) bool {
	if _, ok := p.skipped[path]; ok {
		return true
	}
	for _, pkg := range p.Packages {
		if slices.Contains(pkg.CompiledGoFiles, path) {
			return true
		}
	}
	return false
}

func (p *Program) byID(id string) *packages.Package {
	for _, pkg := range p.Packages {
		if pkg.ID == id {
			return pkg
		}
	}
	return nil
}

// recheck re-parses pkg's changed files and type-checks it again.
func (p *Program) recheck(pkg *packages.Package, changed map[string][]byte) error {
	files := make([]*ast.File, len(pkg.CompiledGoFiles))
	var errs []packages.Error
	for i, name := range pkg.CompiledGoFiles {
		var old *ast.File
		if i < len(pkg.Syntax) && pkg.Fset.File(pkg.Syntax[i].FileStart) != nil && pkg.Fset.File(pkg.Syntax[i].FileStart).Name() == name {
			old = pkg.Syntax[i]
		}
		src, isChanged := changed[name]
		if !isChanged && old != nil {
			files[i] = old
			continue
		}
		if !isChanged {
			var err error
			if src, err = p.ReadFile(name); err != nil {
				return err
			}
		}
		f, perrs := parseGo(pkg.Fset, name, src)
		errs = append(errs, perrs...)
		if f == nil {
			f = &ast.File{Name: ast.NewIdent(pkg.Name), FileStart: token.NoPos}
		}
		files[i] = f
	}
	// The old syntax and type information go before the new are built,
	// so that a large package is not held twice.
	pkg.Syntax, pkg.TypesInfo = nil, nil
	var nonNil []*ast.File
	for _, f := range files {
		if f.FileStart.IsValid() {
			nonNil = append(nonNil, f)
		}
	}
	imp := importerFunc(func(path string) (*types.Package, error) {
		if imp, ok := pkg.Imports[path]; ok && imp.Types != nil {
			return imp.Types, nil
		}
		return nil, fmt.Errorf("package %s is not loaded (run a full load)", path)
	})
	tpkg, info, typeErrs, terrs := typeCheck(pkg.PkgPath, pkg.Module, pkg.Fset, nonNil, pkg.TypesSizes, imp)
	errs = append(errs, terrs...)
	// Keep list errors (they are about the package, not its text).
	for _, e := range pkg.Errors {
		if e.Kind == packages.ListError {
			errs = append(errs, e)
		}
	}
	pkg.Syntax = nonNil
	pkg.Types = tpkg
	pkg.TypesInfo = info
	pkg.TypeErrors = typeErrs
	pkg.Errors = errs
	pkg.IllTyped = len(errs) > 0
	// Importers see the new package from now on.
	for _, other := range p.Packages {
		for path, imp := range other.Imports {
			if imp.ID == pkg.ID {
				other.Imports[path] = pkg
			}
		}
	}
	return nil
}

func isChanged(changed map[string][]byte, name string) bool {
	_, ok := changed[name]
	return ok
}
