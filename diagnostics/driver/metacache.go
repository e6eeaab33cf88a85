package driver

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// The metadata of a run — what `go list -deps` says about every package:
// files, imports, modules — is kept in the package cache too, and reused
// while it cannot have changed: no source file appeared or disappeared in
// the module trees (Config.Sources), and every file whose contents changed
// kept its package clause, the comments above it (build constraints) and
// its imports. An edit inside a function then costs no `go list` for
// metadata — a third of a run after an edit — as gopls re-lists a package
// only when its imports change. Everything else the metadata depends on
// is in the key: the salt (this binary, the build environment, go.mod,
// go.sum, go.work), the go command itself (its path, size and time: a Go
// upgrade), the go command's settings file (go env -w), the home directory
// (the default module cache), the directory, patterns, flags and
// environment.

// metaFormat names the encoding of kept metadata; another is a miss.
const metaFormat = "cachelens-driver-meta 2"

// metaEntry is a run's metadata and what it was derived from.
type metaEntry struct {
	Format string
	// Files are the run's source files: a digest of each one's contents
	// (Config.Sources) and of its header (fileHeader).
	Files  map[string]metaFile
	Pkgs   []metaPkg // dependencies first
	Roots  []string  // IDs of the packages the patterns matched
	GOARCH string
}

type metaFile struct{ Sum, Header string }

// metaPkg is a packages.Package of a metadata load, its imports by ID.
type metaPkg struct {
	ID, Name, PkgPath                 string
	GoFiles, OtherFiles, IgnoredFiles []string
	EmbedFiles, CompiledGoFiles       []string
	Module                            *packages.Module
	Imports                           map[string]string // import path → ID
}

// metaKey is the key of the metadata of a run with cfg, or "" when it is
// not kept: no cache or sources, an overlay (the server's unsaved
// edits), no go command found.
func metaKey(cfg Config, patterns []string) string {
	if cfg.Cache == nil || cfg.Sources == nil || len(cfg.Overlay) > 0 {
		return ""
	}
	// Relative patterns mean what the directory makes them: the absolute
	// one, also when Dir is empty (the process's working directory).
	dir, err := filepath.Abs(cmp.Or(cfg.Dir, "."))
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\ndir %s\npatterns %q\ntests %v\nflags %q\n", metaFormat, cfg.CacheSalt, dir, patterns, cfg.Tests, cfg.BuildFlags)
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	for _, f := range []string{gocmd, goEnvFile()} {
		fmt.Fprintf(h, "file %s", f)
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, " %d %d", fi.Size(), fi.ModTime().UnixNano())
		}
		fmt.Fprintln(h)
	}
	// The home directory places the default GOPATH, and with it the
	// module cache whose file names the metadata holds.
	fmt.Fprintf(h, "home %s\n", os.Getenv("HOME"))
	for _, kv := range cfg.Env {
		fmt.Fprintf(h, "env %s\n", kv)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goEnvFile is the file `go env -w` writes.
func goEnvFile() string {
	if f := os.Getenv("GOENV"); f != "" {
		return f
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "go", "env")
}

// fileHeader digests what of a source file the go command's metadata
// depends on: for a Go file, the comments above the package clause (build
// constraints among them), the package name and the imports; other files
// count by name alone ("-"). "" for a Go file that cannot be read or does
// not parse that far (the metadata is then not reused).
func fileHeader(name string) string {
	if !strings.HasSuffix(name, ".go") {
		return "-"
	}
	f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return ""
	}
	h := sha256.New()
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			fmt.Fprintf(h, "comment %q\n", c.Text) // as written: CommentGroup.Text drops //go:build
		}
	}
	fmt.Fprintf(h, "package %s\n", f.Name.Name)
	for _, imp := range f.Imports {
		name := ""
		if imp.Name != nil {
			name = imp.Name.Name
		}
		path, _ := strconv.Unquote(imp.Path.Value)
		fmt.Fprintf(h, "import %s %s\n", name, path)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadMeta returns the kept metadata for key if it still holds for
// sources, as packages linked by their imports (the roots first returned
// are the packages the patterns matched) and the target's GOARCH.
func loadMeta(c PackageCache, key string, sources map[string]string) ([]*packages.Package, string, bool) {
	data, ok := c.Get(key)
	if !ok {
		return nil, "", false
	}
	var e metaEntry
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil || e.Format != metaFormat {
		return nil, "", false
	}
	if len(e.Files) != len(sources) {
		return nil, "", false
	}
	for name, sum := range sources {
		old, ok := e.Files[name]
		if !ok {
			return nil, "", false // a file appeared (and another went)
		}
		if old.Sum != sum {
			if h := fileHeader(name); h == "" || h != old.Header {
				return nil, "", false
			}
		}
	}
	byID := map[string]*packages.Package{}
	for _, m := range e.Pkgs {
		p := &packages.Package{ID: m.ID, Name: m.Name, PkgPath: m.PkgPath, GoFiles: m.GoFiles, OtherFiles: m.OtherFiles,
			IgnoredFiles: m.IgnoredFiles, EmbedFiles: m.EmbedFiles, CompiledGoFiles: m.CompiledGoFiles, Module: m.Module,
			Imports: map[string]*packages.Package{}}
		for path, id := range m.Imports {
			dep := byID[id]
			if dep == nil {
				return nil, "", false // not dependencies first: a damaged entry
			}
			p.Imports[path] = dep
		}
		byID[m.ID] = p
	}
	roots := make([]*packages.Package, 0, len(e.Roots))
	for _, id := range e.Roots {
		p := byID[id]
		if p == nil {
			return nil, "", false
		}
		roots = append(roots, p)
	}
	return roots, e.GOARCH, true
}

// covered reports whether sources has every file of the packages that
// can change without the key changing: all but the standard library's
// (under goroot, the go command's) and the module cache's. A package in a
// directory the caller's walk skips (node_modules, a dot directory) could
// gain or lose files unseen: such metadata is not kept.
func covered(roots []*packages.Package, sources map[string]string, goroot string) bool {
	goroot = filepath.Join(goroot, "src") + string(filepath.Separator)
	ok := true
	packages.Visit(roots, nil, func(p *packages.Package) {
		if fromModuleCache(p.Module) {
			return // read-only
		}
		if strings.HasSuffix(p.PkgPath, ".test") {
			return // a test main, generated into the build cache from test files
		}
		for _, f := range slices.Concat(p.GoFiles, p.OtherFiles, p.IgnoredFiles) {
			if _, seen := sources[f]; !seen && !strings.HasPrefix(f, goroot) {
				ok = false
			}
		}
	})
	return ok
}

// storeMeta keeps a metadata load whose packages all loaded without
// errors (an error may be gone next time: a module downloaded).
func storeMeta(c PackageCache, key string, sources map[string]string, roots []*packages.Package, goarch, goroot string) {
	failed := false
	packages.Visit(roots, nil, func(p *packages.Package) { failed = failed || len(p.Errors) > 0 })
	if failed || goarch == "" || goroot == "" || !covered(roots, sources, goroot) {
		return
	}
	e := metaEntry{Format: metaFormat, Files: map[string]metaFile{}, GOARCH: goarch}
	packages.Visit(roots, nil, func(p *packages.Package) {
		m := metaPkg{ID: p.ID, Name: p.Name, PkgPath: p.PkgPath, GoFiles: p.GoFiles, OtherFiles: p.OtherFiles,
			IgnoredFiles: p.IgnoredFiles, EmbedFiles: p.EmbedFiles, CompiledGoFiles: p.CompiledGoFiles, Module: p.Module,
			Imports: map[string]string{}}
		for path, dep := range p.Imports {
			m.Imports[path] = dep.ID
		}
		e.Pkgs = append(e.Pkgs, m) // Visit's post order: dependencies first
	})
	for _, p := range roots {
		e.Roots = append(e.Roots, p.ID)
	}
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		h := fileHeader(name)
		if h == "" {
			return
		}
		e.Files[name] = metaFile{Sum: sources[name], Header: h}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err == nil {
		c.Put(key, buf.Bytes())
	}
}
