package driver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/internal/testmodule"
)

// sourcesOf digests the Go and assembly files and go.mod under dir and
// under the repository the test module's go.mod replaces cachelens with,
// as cachelens check does for Config.Sources (skipping node_modules and
// dot directories).
func sourcesOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tree := range []string{dir, testmodule.Root(t)} {
		walkSources(t, tree, out)
	}
	return out
}

func walkSources(t *testing.T, tree string, out map[string]string) {
	filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != tree && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".s") || d.Name() == "go.mod") {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			out[path] = hex.EncodeToString(sum[:])
		}
		return nil
	})
}

// TestMetadataKept: after an edit inside a function the run takes its
// metadata from the cache (no go list for it) and finds what a fresh run
// finds; an edit that can change the metadata — a new import, a build
// constraint, a new file, a new package, a file removed — lists again,
// and the new package is analyzed. A damaged entry is a miss.
func TestMetadataKept(t *testing.T) {
	dir := testmodule.New(t, "example.com/m", map[string]string{"store/store.go": storeGo, "web/web.go": webGo,
		"web/web_test.go": webTestGo})
	web := filepath.Join(dir, "web", "web.go")
	cache := &memCache{m: map[string][]byte{}}
	an := diagnostics.Analyzers()
	run := func(what string, wantKept bool) []string {
		t.Helper()
		prog, err := driver.Load(context.Background(), driver.Config{Dir: dir, Tests: true, Cache: cache, CacheSalt: "s", Sources: sourcesOf(t, dir)})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := driver.MetaKept(prog); got != wantKept {
			t.Fatalf("%s: metadata kept %v, want %v", what, got, wantKept)
		}
		r := prog.Run(an)
		if len(r.Errors) != 0 {
			t.Fatalf("%s: errors %v", what, r.Errors)
		}
		// What a run without any cache finds.
		fresh, err := driver.Load(context.Background(), driver.Config{Dir: dir, Tests: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := messages(fresh.Run(an)); !slices.Equal(messages(r), want) {
			t.Fatalf("%s: findings %v, a fresh run finds %v", what, messages(r), want)
		}
		return messages(r)
	}
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run("first run", false)
	mutating := strings.Replace(webGo, "return len(c.Items)", "c.Items[0] = 1\n\treturn len(c.Items)", 1)
	write(web, mutating)
	if got := run("an edit inside a function", true); !slices.Contains(got, "web.go: mutated") {
		t.Fatalf("the edit's finding is missing: %v", got)
	}
	write(web, strings.Replace(mutating, `import "example.com/m/store"`, "import (\n\t\"strings\"\n\n\t\"example.com/m/store\"\n)\n\nvar _ = strings.ToUpper", 1))
	run("a new import", false)
	run("unchanged", true)
	write(filepath.Join(dir, "web", "extra.go"), "package web\n\nfunc Extra() int { return 1 }\n")
	run("a new file", false)
	write(filepath.Join(dir, "web", "extra.go"), "//go:build ignore\n\npackage web\n\nfunc Extra() int { return 1 }\n")
	run("a build constraint", false)
	os.Remove(filepath.Join(dir, "web", "extra.go"))
	run("a file removed", false)
	write(filepath.Join(dir, "api", "api.go"), "package api\n\nimport \"example.com/m/store\"\n\nfunc Get() { store.Load(1).Items[0] = 2 }\n")
	if got := run("a new package", false); !slices.Contains(got, "api.go: mutated") {
		t.Fatalf("the new package was not analyzed: %v", got)
	}
	for k := range cache.m {
		cache.m[k] = []byte("not an entry")
	}
	run("damaged entries", false)
	run("after the damage", true)

	// The same patterns from another working directory (no Dir) are
	// other packages.
	srcs := sourcesOf(t, dir)
	t.Chdir(dir)
	if _, err := driver.Load(context.Background(), driver.Config{Tests: true, Cache: cache, CacheSalt: "s", Sources: srcs}); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(dir, "web"))
	sub, err := driver.Load(context.Background(), driver.Config{Tests: true, Cache: cache, CacheSalt: "s", Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	if driver.MetaKept(sub) {
		t.Fatal("./... in web/ took the metadata of ./... in the module's root")
	}
	for _, p := range sub.Packages {
		if strings.Contains(p.PkgPath, "store") || strings.Contains(p.PkgPath, "api") {
			if sub.Roots[p] {
				t.Errorf("./... in web/ names %s", p.PkgPath)
			}
		}
	}

	// A package file the caller's walk did not see (a skipped directory)
	// could change unseen: such metadata is not kept.
	partial := sourcesOf(t, dir)
	delete(partial, filepath.Join(dir, "web", "web_test.go"))
	clear(cache.m)
	for i := range 2 {
		prog, err := driver.Load(context.Background(), driver.Config{Dir: dir, Tests: true, Cache: cache, CacheSalt: "s", Sources: partial})
		if err != nil {
			t.Fatal(err)
		}
		if driver.MetaKept(prog) {
			t.Fatalf("run %d with a package file missing from Sources: metadata kept", i)
		}
	}
}
