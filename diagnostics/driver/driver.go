// Package driver runs analyzers over packages loaded with go/packages, in
// process: the workspace's packages are parsed and type-checked from
// source (with unsaved editor buffers as overlays) while everything else
// comes from compiler export data, and facts flow between workspace
// packages in memory. `cachelens check` and the language server both use
// it; `go vet -vettool` uses unitchecker instead.
//
// It serves `cachelens check` and the language server; it is not a stable
// API.
package driver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/build"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cachelens/cachelens/codeactions"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/objectpath"
)

// Config says what to load.
type Config struct {
	Dir      string            // working directory for go list
	Patterns []string          // package patterns; default ./...
	Tests    bool              // include test files
	Overlay  map[string][]byte // file contents that differ from disk (absolute paths)
	Env      []string          // environment for go list; nil means os.Environ()
	// BuildFlags are passed to go list.
	BuildFlags []string
	// Requires, if set, limits the packages parsed, type-checked and
	// analyzed to those that import one of these packages, directly or
	// not (and those that cannot be loaded, to say why): the analyzers
	// find nothing elsewhere. The others cost one go list entry each, and
	// an edit to them is only checked for new imports.
	Requires []string
	// Cache, if set, keeps each package's findings and facts between
	// runs (see PackageCache): packages whose key is found are neither
	// type-checked nor analyzed. CacheSalt is part of every key: it must
	// name everything outside the packages' files that can change a
	// result (the tool's version, its analyzers and flags, the build
	// configuration, go.mod and go.sum).
	Cache     PackageCache
	CacheSalt string
	// Sources, with Cache, are the source files of the module trees the
	// run can see (every .go, assembly and C file; go.mod), each with the
	// hex SHA-256 of its contents. The per-package keys take the digests
	// from here instead of reading the files again, and the run's
	// metadata is kept and reused while no file appears or disappears and
	// each changed file keeps its header (metacache.go).
	Sources map[string]string
}

// loadMode is what the driver needs go/packages to load for analyzed
// packages.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
	packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo | packages.NeedModule

// Program is a set of loaded packages ready to analyze.
type Program struct {
	Fset *token.FileSet
	// Packages are the packages to analyze, dependencies first.
	Packages []*packages.Package
	// Roots are the packages the patterns named (a subset of Packages);
	// findings are reported for them only.
	Roots   map[*packages.Package]bool
	overlay map[string][]byte
	// skipped holds, per file of a package left out by Config.Requires,
	// the imports its package had: an edit that imports something else
	// needs a new load.
	skipped map[string]map[string]bool
	facts   *factStore
	// findings of the last analysis, per package
	results map[*packages.Package][]Finding

	// With Config.Cache: the cache, the keys of the workspace packages by
	// ID, the entries of the packages not loaded (in dependency order),
	// and whether their facts are in the fact store yet.
	cache      PackageCache
	keys       map[string]string
	cached     []cachedPackage
	restored   bool
	fromExport int  // packages type-checked against export data (checkFromExport)
	metaKept   bool // the metadata came from the cache (metacache.go), not go list
}

// cachedPackage is a package whose analysis came from the cache.
type cachedPackage struct {
	path  string
	root  bool // named by the patterns: its findings are reported
	entry *cacheEntry
}

// Load loads the packages named by cfg.Patterns, and the packages of the
// same module(s) they depend on, from source.
func Load(ctx context.Context, cfg Config) (*Program, error) {
	patterns := slices.Clone(cfg.Patterns)
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	// A .go file named on the command line stands for its package (a
	// file= query: go/packages finds no package for a bare file name).
	for i, p := range patterns {
		if strings.HasSuffix(p, ".go") {
			if !filepath.IsAbs(p) {
				p = filepath.Join(cmp.Or(cfg.Dir, "."), p)
			}
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
			patterns[i] = "file=" + p
		}
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	fset := token.NewFileSet()
	base := packages.Config{Context: ctx, Dir: cfg.Dir, Env: env, Tests: cfg.Tests, Overlay: cfg.Overlay, BuildFlags: cfg.BuildFlags, Fset: fset}

	// Find the module packages the patterns depend on: they must be
	// analyzed too (their facts say which of their variables hold cached
	// functions) — also for ./..., which does not include the other
	// modules of a go.work workspace.
	meta := base
	meta.Mode = packages.NeedName | packages.NeedImports | packages.NeedDeps | packages.NeedModule | packages.NeedFiles
	// The target's GOARCH, for checkFromExport's sizes, and the go
	// command's GOROOT, whose files kept metadata need not cover: kept
	// with the metadata, or asked of the go command beside the load
	// (NeedTypesSizes would ask after it).
	goEnvs := func() (goarch, goroot string) { return "", "" }
	mkey := metaKey(cfg, patterns)
	var mpkgs []*packages.Package
	kept := false
	if mkey != "" {
		var arch string
		if mpkgs, arch, kept = loadMeta(cfg.Cache, mkey, cfg.Sources); kept {
			goEnvs = func() (string, string) { return arch, "" }
		}
	}
	if !kept {
		if cfg.Cache != nil {
			ch := make(chan []string, 1)
			go func() { ch <- goEnv(ctx, cfg, "GOARCH", "GOROOT") }()
			goEnvs = sync.OnceValues(func() (string, string) {
				if e := <-ch; e != nil {
					return e[0], e[1]
				}
				return "", ""
			})
		}
		var err error
		mpkgs, err = packages.Load(&meta, patterns...)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", strings.Join(patterns, " "), err)
		}
		if mkey != "" {
			goarch, goroot := goEnvs()
			storeMeta(cfg.Cache, mkey, cfg.Sources, mpkgs, goarch, goroot)
		}
	}
	if len(mpkgs) == 0 {
		return nil, fmt.Errorf("%w: %s matched no packages", ErrNoPackages, strings.Join(patterns, " "))
	}
	prog := &Program{Fset: fset, Roots: map[*packages.Package]bool{}, overlay: maps.Clone(cfg.Overlay), metaKept: kept,
		skipped: map[string]map[string]bool{}, facts: newFactStore(), results: map[*packages.Package][]Finding{}}
	if prog.overlay == nil {
		prog.overlay = map[string][]byte{}
	}
	relevant := relevance(cfg.Requires)
	// The workspace packages to load: those the patterns match and the
	// ones of the same module(s) they depend on, which must be analyzed
	// too (their facts say which of their variables hold cached functions)
	// — also for ./..., which does not include the other modules of a
	// go.work workspace. Packages Requires rules out are only noted.
	var roots []string
	load := map[string]bool{}
	var skip []*packages.Package
	goroot := filepath.Join(build.Default.GOROOT, "src") + string(filepath.Separator)
	inWorkspace := func(p *packages.Package) bool {
		if p.Module != nil {
			return p.Module.Main
		}
		return len(p.GoFiles) > 0 && !strings.HasPrefix(p.GoFiles[0], goroot) // GOPATH mode
	}
	// A workspace package a relevant one imports is needed too: its
	// facts (which parameters its functions mutate, say) matter there.
	needed := map[*packages.Package]bool{}
	var need func(p *packages.Package)
	need = func(p *packages.Package) {
		if needed[p] || !inWorkspace(p) {
			return
		}
		needed[p] = true
		for _, imp := range p.Imports {
			need(imp)
		}
	}
	packages.Visit(mpkgs, nil, func(p *packages.Package) {
		if inWorkspace(p) && relevant(p) {
			need(p)
		}
	})
	packages.Visit(mpkgs, nil, func(p *packages.Package) {
		if !inWorkspace(p) {
			return
		}
		if !needed[p] {
			skip = append(skip, p)
			return
		}
		if !load[p.PkgPath] {
			load[p.PkgPath] = true
			roots = append(roots, p.PkgPath)
		}
	})
	for _, p := range skip {
		if load[p.PkgPath] {
			continue // another variant (with tests) is loaded
		}
		imports := map[string]bool{}
		for path := range p.Imports {
			imports[path] = true
		}
		for _, f := range p.GoFiles {
			prog.skipped[f] = imports
		}
	}
	// The packages the patterns named.
	ids := map[string]bool{}
	for _, p := range mpkgs {
		ids[p.ID] = true
	}
	if cfg.Cache != nil {
		roots = prog.useCache(cfg, mpkgs, needed, inWorkspace, ids, roots)
	}
	if len(roots) == 0 && len(prog.cached) > 0 {
		return prog, nil // everything came from the cache
	}
	if len(roots) == 0 {
		// Nothing could be listed at all (not a module, a broken go.mod)
		// is a failure to load; otherwise nothing here uses the required
		// packages, and the analyzers have nothing to report on.
		var errs []error
		listed := false
		for _, p := range mpkgs {
			listed = listed || len(p.GoFiles) > 0
			for _, e := range p.Errors {
				errs = append(errs, e)
			}
		}
		if !listed && len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return prog, nil
	}
	var pkgs []*packages.Package
	if cfg.Cache != nil {
		// Type-check what the cache could not answer against the export
		// data of everything else.
		var todo []*packages.Package
		packages.Visit(mpkgs, nil, func(m *packages.Package) {
			if needed[m] && slices.Contains(roots, m.PkgPath) {
				todo = append(todo, m)
			}
		})
		goarch, _ := goEnvs()
		if sizes := types.SizesFor("gc", goarch); sizes != nil {
			if checked, ok := prog.checkFromExport(base, sizes, todo); ok {
				pkgs = checked
				prog.fromExport = len(checked)
			}
		}
	}
	if pkgs == nil {
		full := base
		full.Mode = loadMode
		var err error
		pkgs, err = packages.Load(&full, roots...)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", strings.Join(patterns, " "), err)
		}
	}
	// The loaded packages the patterns named.
	var named []*packages.Package
	for _, p := range pkgs {
		if ids[p.ID] {
			named = append(named, p)
			prog.Roots[p] = true
		}
	}
	prog.Packages = topo(pkgs)
	// Nothing could be parsed at all (not a module, a broken go.mod):
	// that is a failure to load, not a package with errors.
	analyzable := false
	var errs []error
	for _, p := range named {
		if len(p.Syntax) > 0 || len(prog.cached) > 0 {
			analyzable = true
		}
		for _, e := range p.Errors {
			errs = append(errs, e)
		}
	}
	if !analyzable && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return prog, nil
}

// relevance returns the test of Config.Requires: whether a package
// imports one of the required packages, directly or not, or has errors
// (what it cannot load might be one).
func relevance(requires []string) func(*packages.Package) bool {
	if len(requires) == 0 {
		return func(*packages.Package) bool { return true }
	}
	memo := map[*packages.Package]bool{}
	var rel func(p *packages.Package) bool
	rel = func(p *packages.Package) bool {
		if r, ok := memo[p]; ok {
			return r
		}
		memo[p] = false // import cycles are errors; do not loop
		r := slices.Contains(requires, p.PkgPath) || len(p.Errors) > 0
		for _, imp := range p.Imports {
			r = r || rel(imp)
		}
		memo[p] = r
		return r
	}
	return rel
}

// topo orders packages so that each comes after the packages it imports.
func topo(pkgs []*packages.Package) []*packages.Package {
	in := map[*packages.Package]bool{}
	for _, p := range pkgs {
		in[p] = true
	}
	var out []*packages.Package
	done := map[*packages.Package]bool{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if done[p] {
			return
		}
		done[p] = true
		paths := make([]string, 0, len(p.Imports))
		for path := range p.Imports {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			if dep := p.Imports[path]; in[dep] {
				visit(dep)
			}
		}
		out = append(out, p)
	}
	for _, p := range pkgs {
		visit(p)
	}
	return out
}

// A Finding is one diagnostic.
type Finding struct {
	Analyzer string
	Pos, End token.Position
	Message  string
	Related  []Related
	Fixes    []Fix
	Package  string // package path
}

// Related is extra information attached to a finding.
type Related struct {
	Pos, End token.Position
	Message  string
}

// Fix is a suggested fix as text edits in (possibly several) files.
type Fix struct {
	Message string
	Edits   []codeactions.Edit
}

// Result is the outcome of a run.
type Result struct {
	Findings []Finding
	// Errors are the packages' load, syntax and type errors, and
	// failures of analyzers (which never stop the run).
	Errors []error
}

// Run applies the analyzers to every package and returns the findings for
// the root packages, deduplicated (a file can belong to a package and to
// its test variant).
func (p *Program) Run(analyzers []*analysis.Analyzer) Result {
	return p.run(analyzers, p.Packages)
}

// Findings returns the findings of the last analysis without analyzing.
func (p *Program) Findings() Result {
	return p.run(nil, nil)
}

// run analyzes pkgs (in dependency order) and returns the findings of all
// roots, reusing the stored findings of packages not in pkgs.
func (p *Program) run(analyzers []*analysis.Analyzer, pkgs []*packages.Package) Result {
	var res Result
	if p.cache != nil && !p.restored && analyzers != nil {
		var facts []cachedFact
		for _, c := range p.cached {
			facts = append(facts, c.entry.Facts...)
		}
		if !p.facts.restore(analyzers, facts) {
			return Result{Errors: []error{ErrCacheStale}}
		}
		p.restored = true
	}
	redo := map[*packages.Package]bool{}
	for _, pkg := range pkgs {
		redo[pkg] = true
	}
	seen := map[string]bool{}
	for _, c := range p.cached {
		if !c.root {
			continue
		}
		for _, f := range c.entry.Findings {
			key := fmt.Sprintf("%s:%d:%d:%s:%s", f.Pos.Filename, f.Pos.Line, f.Pos.Column, f.Analyzer, f.Message)
			if !seen[key] {
				seen[key] = true
				res.Findings = append(res.Findings, f)
			}
		}
	}
	for _, pkg := range p.Packages {
		for _, e := range pkg.Errors {
			if p.Roots[pkg] {
				res.Errors = append(res.Errors, PackageError{Pkg: pkg.PkgPath, Err: e})
			}
		}
		// A root that cannot import a package says only "could not
		// import"; the package's own load error (a module not
		// downloaded, not required, missing from go.sum) says why.
		if p.Roots[pkg] {
			for _, dep := range pkg.Imports {
				for _, e := range dep.Errors {
					if e.Kind == packages.ListError && !seen["dep:"+dep.PkgPath] {
						seen["dep:"+dep.PkgPath] = true
						res.Errors = append(res.Errors, PackageError{Pkg: pkg.PkgPath, Err: packages.Error{Pos: e.Pos, Msg: fmt.Sprintf("%s cannot be loaded: %s", dep.PkgPath, e.Msg), Kind: e.Kind}})
					}
				}
			}
		}
		if pkg.Types == nil || pkg.TypesInfo == nil {
			continue
		}
		if redo[pkg] {
			findings, errs := p.analyze(pkg, analyzers, p.facts)
			res.Errors = append(res.Errors, errs...)
			p.results[pkg] = findings
			if p.cache != nil && len(errs) == 0 && len(pkg.Errors) == 0 && !pkg.IllTyped {
				p.store(pkg, findings)
			}
		}
		if !p.Roots[pkg] {
			continue
		}
		for _, f := range p.results[pkg] {
			key := fmt.Sprintf("%s:%d:%d:%s:%s", f.Pos.Filename, f.Pos.Line, f.Pos.Column, f.Analyzer, f.Message)
			if !seen[key] {
				seen[key] = true
				res.Findings = append(res.Findings, f)
			}
		}
	}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		if a.Pos.Filename != b.Pos.Filename {
			return strings.Compare(a.Pos.Filename, b.Pos.Filename)
		}
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset - b.Pos.Offset
		}
		return strings.Compare(a.Analyzer, b.Analyzer)
	})
	return res
}

// PackageError is a load, syntax or type error of a package.
type PackageError struct {
	Pkg string
	Err packages.Error
}

func (e PackageError) Error() string { return e.Err.Error() }

// analyze runs the analyzers (and what they require) on one package.
func (p *Program) analyze(pkg *packages.Package, analyzers []*analysis.Analyzer, facts *factStore) ([]Finding, []error) {
	results := map[*analysis.Analyzer]any{}
	failed := map[*analysis.Analyzer]bool{}
	var findings []Finding
	var errs []error
	var order []*analysis.Analyzer
	visited := map[*analysis.Analyzer]bool{}
	var visit func(a *analysis.Analyzer)
	visit = func(a *analysis.Analyzer) {
		if visited[a] {
			return
		}
		visited[a] = true
		for _, r := range a.Requires {
			visit(r)
		}
		order = append(order, a)
	}
	for _, a := range analyzers {
		visit(a)
	}
	wanted := map[*analysis.Analyzer]bool{}
	for _, a := range analyzers {
		wanted[a] = true
	}
	for _, a := range order {
		skip := false
		for _, r := range a.Requires {
			if failed[r] {
				skip = true
			}
		}
		if skip || (pkg.IllTyped && !a.RunDespiteErrors) {
			failed[a] = true
			continue
		}
		pass := p.newPass(pkg, a, results, facts, func(d analysis.Diagnostic) {
			if wanted[a] {
				findings = append(findings, p.finding(pkg, a, d))
			}
		})
		res, err := runPass(pass)
		if err != nil {
			failed[a] = true
			errs = append(errs, fmt.Errorf("%s on %s: %w", a.Name, pkg.PkgPath, err))
			continue
		}
		results[a] = res
	}
	return findings, errs
}

// runPass runs an analyzer, turning a panic into an error.
func runPass(pass *analysis.Pass) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
		}
	}()
	return pass.Analyzer.Run(pass)
}

func (p *Program) newPass(pkg *packages.Package, a *analysis.Analyzer, results map[*analysis.Analyzer]any, facts *factStore, report func(analysis.Diagnostic)) *analysis.Pass {
	inputs := map[*analysis.Analyzer]any{}
	for _, r := range a.Requires {
		inputs[r] = results[r]
	}
	pass := &analysis.Pass{
		Analyzer:     a,
		Fset:         pkg.Fset,
		Files:        pkg.Syntax,
		OtherFiles:   pkg.OtherFiles,
		IgnoredFiles: pkg.IgnoredFiles,
		Pkg:          pkg.Types,
		TypesInfo:    pkg.TypesInfo,
		TypesSizes:   pkg.TypesSizes,
		TypeErrors:   pkg.TypeErrors,
		ResultOf:     inputs,
		Report:       report,
		ReadFile:     p.ReadFile,
		Module:       &analysis.Module{},
	}
	if pkg.Module != nil {
		pass.Module = &analysis.Module{Path: pkg.Module.Path, Version: pkg.Module.Version}
		if pkg.Module.GoVersion != "" {
			pass.Module.GoVersion = pkg.Module.GoVersion
		}
	}
	pass.ImportObjectFact = func(obj types.Object, f analysis.Fact) bool { return facts.importObject(a, obj, f) }
	pass.ExportObjectFact = func(obj types.Object, f analysis.Fact) {
		if obj.Pkg() != pkg.Types {
			panic(fmt.Sprintf("%s: fact for %s belongs to another package", a.Name, obj))
		}
		facts.exportObject(a, obj, f)
	}
	pass.ImportPackageFact = func(pk *types.Package, f analysis.Fact) bool { return facts.importPackage(a, pk, f) }
	pass.ExportPackageFact = func(f analysis.Fact) { facts.exportPackage(a, pkg.Types, f) }
	pass.AllObjectFacts = func() []analysis.ObjectFact { return facts.allObjects(a) }
	pass.AllPackageFacts = func() []analysis.PackageFact { return facts.allPackages(a) }
	return pass
}

// ReadFile reads a file, preferring the overlay.
func (p *Program) ReadFile(name string) ([]byte, error) {
	if src, ok := p.overlay[name]; ok {
		return src, nil
	}
	return os.ReadFile(name)
}

func (p *Program) finding(pkg *packages.Package, a *analysis.Analyzer, d analysis.Diagnostic) Finding {
	f := Finding{Analyzer: a.Name, Message: d.Message, Package: pkg.PkgPath}
	f.Pos = pkg.Fset.Position(d.Pos)
	if d.End.IsValid() {
		f.End = pkg.Fset.Position(d.End)
	} else {
		f.End = f.Pos
	}
	for _, r := range d.Related {
		f.Related = append(f.Related, Related{Pos: pkg.Fset.Position(r.Pos), End: pkg.Fset.Position(r.End), Message: r.Message})
	}
	for _, sf := range d.SuggestedFixes {
		fix := Fix{Message: sf.Message}
		for _, e := range sf.TextEdits {
			start, end := pkg.Fset.Position(e.Pos), pkg.Fset.Position(e.End)
			if !e.End.IsValid() {
				end = start
			}
			fix.Edits = append(fix.Edits, codeactions.Edit{File: start.Filename, Start: start.Offset, End: end.Offset, New: string(e.NewText)})
		}
		f.Fixes = append(f.Fixes, fix)
	}
	return f
}

// factStore holds facts by analyzer and object path, so they survive
// objects being re-created by a new type-check of their package.
type factStore struct {
	mu   sync.Mutex
	objs map[factKey]analysis.Fact
	pkgs map[factKey]analysis.Fact
	// objects remembers the exporting objects, for AllObjectFacts.
	objects map[factKey]types.Object
	pkgObjs map[factKey]*types.Package
}

type factKey struct {
	a    *analysis.Analyzer
	pkg  string
	path objectpath.Path
	typ  reflect.Type
}

func newFactStore() *factStore {
	return &factStore{objs: map[factKey]analysis.Fact{}, pkgs: map[factKey]analysis.Fact{}, objects: map[factKey]types.Object{}, pkgObjs: map[factKey]*types.Package{}}
}

func objKey(a *analysis.Analyzer, obj types.Object, f analysis.Fact) (factKey, bool) {
	if obj.Pkg() == nil {
		return factKey{}, false
	}
	path, err := objectpath.For(obj)
	if err != nil {
		return factKey{}, false
	}
	return factKey{a: a, pkg: obj.Pkg().Path(), path: path, typ: reflect.TypeOf(f)}, true
}

func (s *factStore) importObject(a *analysis.Analyzer, obj types.Object, f analysis.Fact) bool {
	k, ok := objKey(a, obj, f)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.objs[k]
	if !ok {
		return false
	}
	reflect.ValueOf(f).Elem().Set(reflect.ValueOf(v).Elem())
	return true
}

func (s *factStore) exportObject(a *analysis.Analyzer, obj types.Object, f analysis.Fact) {
	k, ok := objKey(a, obj, f)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[k] = f
	s.objects[k] = obj
}

func (s *factStore) importPackage(a *analysis.Analyzer, pkg *types.Package, f analysis.Fact) bool {
	k := factKey{a: a, pkg: pkg.Path(), typ: reflect.TypeOf(f)}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.pkgs[k]
	if !ok {
		return false
	}
	reflect.ValueOf(f).Elem().Set(reflect.ValueOf(v).Elem())
	return true
}

func (s *factStore) exportPackage(a *analysis.Analyzer, pkg *types.Package, f analysis.Fact) {
	k := factKey{a: a, pkg: pkg.Path(), typ: reflect.TypeOf(f)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkgs[k] = f
	s.pkgObjs[k] = pkg
}

func (s *factStore) allObjects(a *analysis.Analyzer) []analysis.ObjectFact {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []analysis.ObjectFact
	for k, f := range s.objs {
		if k.a == a {
			out = append(out, analysis.ObjectFact{Object: s.objects[k], Fact: f})
		}
	}
	return out
}

func (s *factStore) allPackages(a *analysis.Analyzer) []analysis.PackageFact {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []analysis.PackageFact
	for k, f := range s.pkgs {
		if k.a == a {
			out = append(out, analysis.PackageFact{Package: s.pkgObjs[k], Fact: f})
		}
	}
	return out
}

// ErrNoPackages is returned when patterns match nothing.
var ErrNoPackages = errors.New("no packages to check")
