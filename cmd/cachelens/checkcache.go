package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/internal/diskstore"
	"golang.org/x/mod/modfile"
	"golang.org/x/tools/go/packages"
)

// The result caches of cachelens check, two levels:
//
//   - A whole run's findings are stored under a key that covers everything
//     they depend on — this binary, the Go toolchain and build
//     environment, the flags, the go.work the go command uses (in the
//     module or above it) and every module it names, each module's go.mod
//     and go.sum, every .go file in those modules and in the directories
//     they replace dependencies with. An unchanged tree answers without
//     running go list at all (CI re-runs).
//   - Otherwise each package's findings and facts are kept under a key of
//     its own (driver.PackageCache: the same salt, the package's files,
//     its imports' keys), so after an edit only the edited package and
//     its importers are type-checked and analyzed, as go vet does.
//
// A hit is always what a fresh run would print. A run or package that
// failed to load is not stored.

// cacheKey returns the key for a whole check of patterns in dir, the
// salt of its per-package entries (driver.Config.CacheSalt) and the
// digests of the source files it hashed (driver.Config.Sources), or ""
// and nil when the run cannot be cached (not in a module).
func cacheKey(dir string, patterns []string, tests bool) (key, salt string, sources map[string]string, err error) {
	salt, trees, err := checkSalt(dir, tests)
	if err != nil || salt == "" {
		return "", "", nil, err
	}
	h := sha256.New()
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(h, "%s\ndir %s\npatterns %q\n", salt, abs, patterns)
	sources = map[string]string{}
	for _, tree := range trees {
		if err := hashSources(h, tree, sources); err != nil {
			return "", "", nil, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), salt, sources, nil
}

// checkSalt describes what a check's results depend on besides the
// packages' own files — this binary, the Go toolchain and build
// environment, the tests flag, the go.work the go command uses and every
// module it names, each module's go.mod and go.sum — and returns the
// module trees whose .go files the whole-run key hashes.
func checkSalt(dir string, tests bool) (string, []string, error) {
	root, err := moduleRoot(dir)
	if err != nil || root == "" {
		return "", nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "cachelens-check v2\n%s\n%s %s\n", version, runtime.GOOS, runtime.GOARCH)
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "exe %s %d %d\n", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") || strings.HasPrefix(kv, "CC=") {
			fmt.Fprintf(h, "env %s\n", kv)
		}
	}
	fmt.Fprintf(h, "tests %v\n", tests)
	abs, _ := filepath.Abs(dir)
	// The modules whose sources can change the answer: this one, the
	// directories it replaces dependencies with, and every module of the
	// go.work the go command uses (which may be above the module).
	modules := []string{root}
	if work := goWork(abs); work != "" {
		data, err := os.ReadFile(work)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(h, "go.work %s %x\n", work, sha256.Sum256(data))
		if sum, err := os.ReadFile(work + ".sum"); err == nil {
			fmt.Fprintf(h, "go.work.sum %x\n", sha256.Sum256(sum))
		}
		if wf, err := modfile.ParseWork(work, data, nil); err == nil {
			for _, u := range wf.Use {
				p := u.Path
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(work), p)
				}
				modules = append(modules, filepath.Clean(p))
			}
			for _, r := range wf.Replace {
				if modfile.IsDirectoryPath(r.New.Path) {
					p := r.New.Path
					if !filepath.IsAbs(p) {
						p = filepath.Join(filepath.Dir(work), p)
					}
					modules = append(modules, filepath.Clean(p))
				}
			}
		}
	}
	var trees []string
	seen := map[string]bool{}
	for i := 0; i < len(modules); i++ {
		m := modules[i]
		if seen[m] {
			continue
		}
		seen[m] = true
		trees = append(trees, m)
		for _, name := range []string{"go.mod", "go.sum"} {
			data, err := os.ReadFile(filepath.Join(m, name))
			if err != nil {
				continue
			}
			fmt.Fprintf(h, "file %s %x\n", filepath.Join(m, name), sha256.Sum256(data))
			if name == "go.mod" {
				modules = append(modules, localReplacements(m, data)...)
			}
		}
	}
	slices.Sort(trees)
	return hex.EncodeToString(h.Sum(nil)), trees, nil
}

// goWork returns the go.work file the go command uses for dir: $GOWORK,
// or the first go.work in dir or above; "" for none.
func goWork(dir string) string {
	switch w := os.Getenv("GOWORK"); w {
	case "off":
		return ""
	case "":
	default:
		return w
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return filepath.Join(d, "go.work")
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// moduleRoot returns the directory of the go.mod governing dir.
func moduleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", nil
		}
		d = parent
	}
}

// localReplacements returns the directories go.mod replaces modules with.
func localReplacements(root string, gomod []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(gomod)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "replace ")
		_, target, ok := strings.Cut(line, "=>")
		if !ok {
			continue
		}
		fields := strings.Fields(target)
		if len(fields) == 0 {
			continue
		}
		p := fields[0]
		if strings.HasPrefix(p, ".") || filepath.IsAbs(p) {
			if !filepath.IsAbs(p) {
				p = filepath.Join(root, p)
			}
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}

// sourceExts are the extensions of the files the go command builds
// packages from (Go, assembly, C and the rest of cgo's, SWIG, .syso).
var sourceExts = []string{".go", ".s", ".S", ".sx", ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx",
	".m", ".f", ".F", ".for", ".f90", ".swig", ".swigcxx", ".syso"}

// hashSources writes the name and contents digest of every source file
// under tree (and its go.mod files) to h, in name order, and records
// each digest in sources.
func hashSources(h io.Writer, tree string, sources map[string]string) error {
	var files []string
	err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts cannot affect the build either
		}
		if d.IsDir() {
			name := d.Name()
			if path != tree && (name == ".git" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if name := d.Name(); name == "go.mod" || slices.Contains(sourceExts, filepath.Ext(name)) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		sources[f] = hex.EncodeToString(sum[:])
		fmt.Fprintf(h, "go %s %s\n", f, sources[f])
	}
	return nil
}

func cacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "cachelens", "check")
}

// cachedResult is a stored run.
type cachedResult struct {
	Findings  []driver.Finding
	PkgErrors []driver.PackageError
}

func loadCached(key string) (driver.Result, bool) {
	dir := cacheDir()
	if key == "" || dir == "" {
		return driver.Result{}, false
	}
	data, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return driver.Result{}, false
	}
	var c cachedResult
	if err := json.Unmarshal(data, &c); err != nil {
		return driver.Result{}, false
	}
	res := driver.Result{Findings: c.Findings}
	for _, e := range c.PkgErrors {
		res.Errors = append(res.Errors, e)
	}
	return res, true
}

// storeCached stores a run that had no internal errors and loaded every
// package: a failure to load (a module not downloaded, a network error)
// may be gone next time, so it is never replayed.
func storeCached(key string, res driver.Result) {
	dir := cacheDir()
	if key == "" || dir == "" {
		return
	}
	c := cachedResult{Findings: res.Findings}
	for _, e := range res.Errors {
		pe, ok := e.(driver.PackageError)
		if !ok {
			return // an analyzer failed: do not remember that
		}
		if pe.Err.Kind == packages.ListError {
			return // a failed load: do not remember that either
		}
		c.PkgErrors = append(c.PkgErrors, pe)
	}
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	data, err := json.Marshal(c)
	if err != nil {
		return
	}
	diskstore.WriteFile(dir, key+".json", data)
}

// pkgCache is the per-package cache on disk: one file per key under
// <cacheDir>/pkg, written whole (diskstore.WriteFile) so that concurrent
// runs never read half an entry. Entries not used for
// pkgCacheAge are removed, at most once a day.
type pkgCache struct{ dir string }

const pkgCacheAge = 7 * 24 * time.Hour

func openPkgCache() *pkgCache {
	dir := cacheDir()
	if dir == "" {
		return nil
	}
	c := &pkgCache{dir: filepath.Join(dir, "pkg")}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil
	}
	c.trim(time.Now())
	return c
}

func (c *pkgCache) path(key string) string { return filepath.Join(c.dir, key[:2], key) }

// Get reads an entry, marking it used (its modification time, refreshed
// at most hourly).
func (c *pkgCache) Get(key string) ([]byte, bool) {
	p := c.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > time.Hour {
		now := time.Now()
		os.Chtimes(p, now, now)
	}
	return data, true
}

// Put writes an entry; failures are ignored (the package is analyzed
// again next time).
func (c *pkgCache) Put(key string, data []byte) {
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	diskstore.WriteFile(filepath.Dir(p), key, data)
}

// trim removes entries unused for pkgCacheAge, when the last trim is a
// day old.
func (c *pkgCache) trim(now time.Time) {
	mark := filepath.Join(c.dir, "trimmed")
	if fi, err := os.Stat(mark); err == nil && now.Sub(fi.ModTime()) < 24*time.Hour {
		return
	}
	os.WriteFile(mark, nil, 0o600)
	filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == mark {
			return nil
		}
		if fi, err := d.Info(); err == nil && now.Sub(fi.ModTime()) > pkgCacheAge {
			os.Remove(path)
		}
		return nil
	})
}
