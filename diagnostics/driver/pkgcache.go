package driver

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/objectpath"
)

// PackageCache keeps each package's analysis — its findings and the facts
// it exports — between runs, as go vet does, so that a run after a
// one-file edit type-checks and analyzes only the edited package and the
// packages that import it.
//
// An entry's key covers everything the analysis of a package depends on:
// Config.CacheSalt (the tool, its analyzers and flags, the build
// configuration), the package's identity and the contents of its files,
// and for each import its module version when it comes from the module
// cache, and otherwise its own key — for the standard library and
// directory replacements made from the names, sizes and modification
// times of their files instead of their contents. A package whose key is
// found is neither type-checked nor analyzed; its findings are reported
// and its facts given to the packages that import it.
type PackageCache interface {
	Get(key string) ([]byte, bool)
	Put(key string, data []byte)
}

// cacheFormat names the encoding of entries; entries of another format
// are misses.
const cacheFormat = "cachelens-driver-pkg 1"

// cacheEntry is one package's stored analysis.
type cacheEntry struct {
	Format   string
	Findings []Finding
	Facts    []cachedFact
}

// cachedFact is an object fact in a form that outlives the run: the
// analyzer's name, the object by package path and object path, the
// fact's type by name, and its gob encoding.
type cachedFact struct {
	Analyzer string
	Pkg      string
	Path     objectpath.Path
	Type     string
	Data     []byte
}

// packageKeys computes the cache keys of the workspace packages of a
// metadata load, by ID; a package whose files cannot be read gets no key
// (it is always analyzed).
type packageKeys struct {
	salt        string
	inWorkspace func(*packages.Package) bool
	overlay     map[string][]byte
	sources     map[string]string // Config.Sources
	keys        map[string]string
	busy        map[string]bool
}

func (k *packageKeys) key(p *packages.Package) string {
	if key, ok := k.keys[p.ID]; ok {
		return key
	}
	if k.busy[p.ID] {
		return "" // an import cycle: an error, never cached
	}
	k.busy[p.ID] = true
	key := k.compute(p)
	delete(k.busy, p.ID)
	k.keys[p.ID] = key
	return key
}

func (k *packageKeys) compute(p *packages.Package) string {
	if len(p.Errors) > 0 {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nid %s\npath %s\nname %s\n", cacheFormat, k.salt, p.ID, p.PkgPath, p.Name)
	for _, f := range slices.Concat(p.GoFiles, p.OtherFiles, p.EmbedFiles) {
		if k.inWorkspace(p) {
			src, ok := k.overlay[f]
			if sum, known := k.sources[f]; !ok && known {
				fmt.Fprintf(h, "file %s %s\n", f, sum) // the same hex SHA-256, taken by the caller
				continue
			}
			if !ok {
				var err error
				if src, err = os.ReadFile(f); err != nil {
					return ""
				}
			}
			fmt.Fprintf(h, "file %s %x\n", f, sha256.Sum256(src))
			continue
		}
		// The standard library and directory replacements: by the files'
		// names, sizes and times (a Go upgrade rewrites them).
		fi, err := os.Stat(f)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "file %s %d %d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	paths := make([]string, 0, len(p.Imports))
	for path := range p.Imports {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		dep := p.Imports[path]
		if m := dep.Module; fromModuleCache(m) && !k.inWorkspace(dep) {
			// The module cache is read-only: a version names its files,
			// and go.sum (in the salt) the versions of its imports.
			if m.Replace != nil {
				m = m.Replace
			}
			fmt.Fprintf(h, "import %s %s@%s\n", path, m.Path, m.Version)
			continue
		}
		dk := k.key(dep)
		if dk == "" {
			return ""
		}
		fmt.Fprintf(h, "import %s %s\n", path, dk)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fromModuleCache reports whether m's files are in the module cache
// (read-only: a version names them), not a directory replacement.
func fromModuleCache(m *packages.Module) bool {
	return m != nil && m.Version != "" && (m.Replace == nil || m.Replace.Version != "")
}

// loadCached reads the entry for key, or reports false.
func loadCached(c PackageCache, key string) (*cacheEntry, bool) {
	if key == "" {
		return nil, false
	}
	data, ok := c.Get(key)
	if !ok {
		return nil, false
	}
	var e cacheEntry
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil || e.Format != cacheFormat {
		return nil, false
	}
	return &e, true
}

// storeCached writes a package's findings and the facts it exported.
func storeCached(c PackageCache, key string, findings []Finding, facts []cachedFact) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cacheEntry{Format: cacheFormat, Findings: findings, Facts: facts}); err != nil {
		return // a fact gob cannot encode: analyze the package next time
	}
	c.Put(key, buf.Bytes())
}

// encodeFact makes an exported fact storable.
func encodeFact(k factKey, f analysis.Fact) (cachedFact, bool) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		return cachedFact{}, false
	}
	return cachedFact{Analyzer: k.a.Name, Pkg: k.pkg, Path: k.path, Type: reflect.TypeOf(f).String(), Data: buf.Bytes()}, true
}

// restoreFacts puts the facts of cached packages into the fact store, for
// the analyzers (and those they require) of this run. It reports false if
// a fact cannot be restored: the caller analyzes everything instead.
func (s *factStore) restore(analyzers []*analysis.Analyzer, facts []cachedFact) bool {
	byName := map[string]*analysis.Analyzer{}
	var add func(a *analysis.Analyzer)
	add = func(a *analysis.Analyzer) {
		if byName[a.Name] != nil {
			return
		}
		byName[a.Name] = a
		for _, r := range a.Requires {
			add(r)
		}
	}
	for _, a := range analyzers {
		add(a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cf := range facts {
		a := byName[cf.Analyzer]
		if a == nil {
			return false
		}
		var typ reflect.Type
		for _, ft := range a.FactTypes {
			if t := reflect.TypeOf(ft); t.String() == cf.Type {
				typ = t
			}
		}
		if typ == nil {
			return false
		}
		f := reflect.New(typ.Elem()).Interface().(analysis.Fact)
		if err := gob.NewDecoder(bytes.NewReader(cf.Data)).Decode(f); err != nil {
			return false
		}
		s.objs[factKey{a: a, pkg: cf.Pkg, path: cf.Path, typ: typ}] = f
	}
	return true
}

// ErrCacheStale is returned by Run when facts kept in the cache cannot be
// given to this run's analyzers (they differ from the ones that stored
// them, which the salt should have said): load again without the cache.
var ErrCacheStale = errors.New("the package cache holds facts these analyzers do not know; run without it")

// useCache looks up every needed workspace package of a metadata load in
// cfg.Cache and returns the import paths among roots that must still be
// loaded and analyzed: those with a variant (the package, or it compiled
// for its tests) whose entry is missing. The entries of the others are
// kept for Run.
func (p *Program) useCache(cfg Config, mpkgs []*packages.Package, needed map[*packages.Package]bool, inWorkspace func(*packages.Package) bool, named map[string]bool, roots []string) []string {
	k := &packageKeys{salt: cfg.CacheSalt, inWorkspace: inWorkspace, overlay: cfg.Overlay, sources: cfg.Sources, keys: map[string]string{}, busy: map[string]bool{}}
	dirty := map[string]bool{}
	var hits []cachedPackage
	packages.Visit(mpkgs, nil, func(pkg *packages.Package) {
		if !needed[pkg] {
			return
		}
		if e, ok := loadCached(cfg.Cache, k.key(pkg)); ok {
			hits = append(hits, cachedPackage{path: pkg.PkgPath, root: named[pkg.ID], entry: e})
		} else {
			dirty[pkg.PkgPath] = true
		}
	})
	p.cache, p.keys = cfg.Cache, k.keys
	for _, h := range hits {
		if !dirty[h.path] {
			p.cached = append(p.cached, h)
		}
	}
	var load []string
	for _, r := range roots {
		if dirty[r] {
			load = append(load, r)
		}
	}
	return load
}

// store keeps an analyzed package's findings and the facts about its
// objects, which are the facts its analysis exported (a pass may export
// facts only about its own package's objects; the cached facts of the
// package's path are not restored when the package is analyzed). A test
// variant shares its package's path, so its entry holds the facts of both
// — as the fact store, keyed by path, does.
func (p *Program) store(pkg *packages.Package, findings []Finding) {
	key := p.keys[pkg.ID]
	if key == "" {
		return
	}
	var facts []cachedFact
	for k, f := range p.facts.ofPackage(pkg.PkgPath) {
		cf, ok := encodeFact(k, f)
		if !ok {
			return // a fact that cannot be kept: analyze it next time
		}
		facts = append(facts, cf)
	}
	slices.SortFunc(facts, func(a, b cachedFact) int {
		return cmp.Or(strings.Compare(a.Analyzer, b.Analyzer), strings.Compare(string(a.Path), string(b.Path)), strings.Compare(a.Type, b.Type))
	})
	storeCached(p.cache, key, findings, facts)
}

// ofPackage returns the object facts about the objects of the package at
// path.
func (s *factStore) ofPackage(path string) map[factKey]analysis.Fact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[factKey]analysis.Fact{}
	for k, f := range s.objs {
		if k.pkg == path {
			out[k] = f
		}
	}
	return out
}
