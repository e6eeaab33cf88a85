package driver

import (
	"context"
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// checkFromExport parses and type-checks the packages of a metadata load
// that the package cache could not answer (todo, dependencies first)
// against the compiler's export data of their other imports, as go vet
// does: `go list -export` is asked only for those imports, which are
// found in the build cache, and the changed packages themselves are not
// compiled (go/packages would compile them to produce export data nobody
// reads — most of a run after an edit). It reports false when the
// packages need go/packages after all: cgo, load errors, an import that is
// a test variant or has no export data, export data it cannot read. sizes
// is the target's.
func (p *Program) checkFromExport(base packages.Config, sizes types.Sizes, todo []*packages.Package) ([]*packages.Package, bool) {
	dirty := map[string]bool{}
	for _, m := range todo {
		if len(m.Errors) > 0 {
			return nil, false
		}
		dirty[m.ID] = true
	}
	// The other imports, whose export data the type checker reads.
	var paths []string
	listed := map[string]bool{}
	for _, m := range todo {
		for _, dep := range m.Imports {
			if dirty[dep.ID] || listed[dep.ID] || dep.PkgPath == "unsafe" {
				continue
			}
			if dep.ID != dep.PkgPath {
				return nil, false // a variant compiled for a test
			}
			listed[dep.ID] = true
			paths = append(paths, dep.PkgPath)
		}
	}
	exportFile := map[string]string{}
	if len(paths) > 0 {
		cfg := base
		cfg.Mode = packages.NeedName | packages.NeedExportFile
		cfg.Tests = false
		cfg.Overlay = nil
		eps, err := packages.Load(&cfg, paths...)
		if err != nil {
			return nil, false
		}
		for _, ep := range eps {
			exportFile[ep.ID] = ep.ExportFile
		}
		for id := range listed {
			if exportFile[id] == "" {
				return nil, false
			}
		}
	}
	fromExport := map[string]*types.Package{} // by package path, shared by all reads
	byID := map[string]*types.Package{}
	readExport := func(id, path string) (*types.Package, error) {
		if tp := byID[id]; tp != nil {
			return tp, nil
		}
		f, err := os.Open(exportFile[id])
		if err != nil {
			return nil, err
		}
		defer f.Close()
		// go list -export names the compiler's archive (Go 1.26), whose
		// export data section NewReader finds, as go/packages does; the
		// unreadable fallback covers the format change it warns of.
		r, err := gcexportdata.NewReader(f) //lint:ignore SA1019 go list -export writes archives
		if err != nil {
			return nil, fmt.Errorf("reading export data of %s: %w", path, err)
		}
		tp, err := gcexportdata.Read(r, p.Fset, fromExport, path)
		if err != nil {
			return nil, fmt.Errorf("reading export data of %s: %w", path, err)
		}
		byID[id] = tp
		return tp, nil
	}

	// unreadable is set when export data cannot be read (written by a Go
	// newer than this binary's reader knows): go/packages then loads
	// everything, so that no finding rests on a failed import.
	unreadable := false
	checked := map[string]*packages.Package{}
	var out []*packages.Package
	for _, m := range todo {
		np := &packages.Package{
			ID: m.ID, Name: m.Name, PkgPath: m.PkgPath, GoFiles: m.GoFiles, CompiledGoFiles: m.GoFiles,
			OtherFiles: m.OtherFiles, EmbedFiles: m.EmbedFiles, IgnoredFiles: m.IgnoredFiles, Module: m.Module,
			Fset: p.Fset, TypesSizes: sizes, Imports: map[string]*packages.Package{},
		}
		for _, name := range m.GoFiles {
			var src any // nil: read the file
			if b, ok := p.overlay[name]; ok {
				src = b
			}
			f, errs := parseGo(p.Fset, name, src)
			np.Errors = append(np.Errors, errs...)
			if f == nil {
				continue
			}
			if importsC(f) {
				return nil, false
			}
			np.Syntax = append(np.Syntax, f)
		}
		for path, dep := range m.Imports {
			if c := checked[dep.ID]; c != nil {
				np.Imports[path] = c
			} else {
				np.Imports[path] = &packages.Package{ID: dep.ID, Name: dep.Name, PkgPath: dep.PkgPath, Module: dep.Module}
			}
		}
		imp := importerFunc(func(path string) (*types.Package, error) {
			if path == "unsafe" {
				return types.Unsafe, nil
			}
			dep := m.Imports[path]
			if dep == nil {
				return nil, fmt.Errorf("no metadata for %s", path)
			}
			if c := checked[dep.ID]; c != nil {
				return c.Types, nil
			}
			tp, err := readExport(dep.ID, dep.PkgPath)
			if err != nil {
				unreadable = true
				return nil, err
			}
			np.Imports[path].Types = tp
			return tp, nil
		})
		var terrs []packages.Error
		np.Types, np.TypesInfo, np.TypeErrors, terrs = typeCheck(m.PkgPath, m.Module, p.Fset, np.Syntax, sizes, imp)
		np.Errors = append(np.Errors, terrs...)
		if unreadable {
			return nil, false
		}
		np.IllTyped = len(np.Errors) > 0
		checked[m.ID] = np
		out = append(out, np)
	}
	return out, true
}

// importsC reports whether a file uses cgo.
func importsC(f *ast.File) bool {
	for _, imp := range f.Imports {
		if path, err := strconv.Unquote(imp.Path.Value); err == nil && path == "C" {
			return true
		}
	}
	return false
}

// goEnv returns variables of `go env` in cfg's directory and environment,
// one per name, or nil if the go command fails.
func goEnv(ctx context.Context, cfg Config, names ...string) []string {
	cmd := exec.CommandContext(ctx, "go", append([]string{"env"}, names...)...)
	cmd.Dir = cfg.Dir
	if cfg.Env != nil {
		cmd.Env = cfg.Env
	}
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(vals) != len(names) {
		return nil
	}
	return vals
}
