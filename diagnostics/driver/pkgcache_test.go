package driver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cachelens/cachelens/diagnostics"
	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/internal/testmodule"
)

const webTestGo = `package web

import (
	"testing"

	"example.com/m/store"
)

func TestUse(t *testing.T) {
	c := store.Load(2)
	c.Items[1] = 5
}
`

const webXTestGo = `package web_test

import (
	"testing"

	"example.com/m/store"
	"example.com/m/web"
)

func TestX(t *testing.T) {
	c := store.Load(1)
	c.Items = append(c.Items[:0], web.Use())
}
`

// memCache is a PackageCache in memory that counts what it is asked.
type memCache struct {
	mu         sync.Mutex
	m          map[string][]byte
	gets, puts int
}

func (c *memCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	d, ok := c.m[key]
	return d, ok
}

func (c *memCache) Put(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	c.m[key] = data
}

// loaded lists the import paths of the packages a run type-checked.
func loaded(p *driver.Program) []string {
	var out []string
	for _, pkg := range p.Packages {
		if !slices.Contains(out, pkg.PkgPath) {
			out = append(out, pkg.PkgPath)
		}
	}
	slices.Sort(out)
	return out
}

// TestPackageCache: a second run type-checks nothing and reports the same
// findings; after an edit only the edited package is checked, and a
// finding that needs another package's facts (web mutates what store's
// cached function returns) is still made from the cached facts; an edit
// to the dependency re-checks both; a different salt or a damaged entry
// is a miss.
func TestPackageCache(t *testing.T) {
	dir := testmodule.New(t, "example.com/m", map[string]string{"store/store.go": storeGo, "web/web.go": webGo,
		// Test variants: web compiled with its test, and an external test.
		"web/web_test.go": webTestGo, "web/x_test.go": webXTestGo})
	web := filepath.Join(dir, "web", "web.go")
	store := filepath.Join(dir, "store", "store.go")
	cache := &memCache{m: map[string][]byte{}}
	an := diagnostics.Analyzers()
	run := func(salt string) (*driver.Program, []string) {
		t.Helper()
		prog, err := driver.Load(context.Background(), driver.Config{Dir: dir, Tests: true, Cache: cache, CacheSalt: salt})
		if err != nil {
			t.Fatal(err)
		}
		r := prog.Run(an)
		if len(r.Errors) != 0 {
			t.Fatalf("errors: %v", r.Errors)
		}
		return prog, messages(r)
	}

	mutating := strings.Replace(webGo, "return len(c.Items)", "c.Items[0] = 1\n\treturn len(c.Items)", 1)
	os.WriteFile(web, []byte(mutating), 0o644)
	prog, first := run("a")
	want := []string{"web.go: mutated", "web_test.go: mutated", "x_test.go: mutated", "x_test.go: mutated"}
	if got := loaded(prog); !slices.Equal(got, []string{"example.com/m/store", "example.com/m/web", "example.com/m/web.test", "example.com/m/web_test"}) || !slices.Equal(first, want) {
		t.Fatalf("first run: loaded %v, findings %v", got, first)
	}
	if cache.puts < 2 {
		t.Fatalf("%d entries stored", cache.puts)
	}

	prog, second := run("a")
	if got := loaded(prog); len(got) != 0 || !slices.Equal(second, first) {
		t.Fatalf("unchanged: loaded %v, findings %v (want none loaded, %v)", got, second, first)
	}

	// An edit to web: store's facts come from the cache.
	os.WriteFile(web, []byte(mutating+"\n// an edit\n"), 0o644)
	prog, third := run("a")
	if got := loaded(prog); !slices.Equal(got, []string{"example.com/m/web", "example.com/m/web.test", "example.com/m/web_test"}) || !slices.Equal(third, first) {
		t.Fatalf("after editing web: loaded %v, findings %v", got, third)
	}
	// ... type-checked against store's export data, not compiled.
	if n := driver.FromExport(prog); n != 4 {
		t.Errorf("%d packages checked against export data, want web, its test variant, the external test and the test main", n)
	}

	// An edit to store that allows mutation reaches web.
	os.WriteFile(store, []byte(strings.Replace(storeGo, "make([]int, n)} })", "make([]int, n)} }, cacheruntime.AllowOutputMutation())", 1)), 0o644)
	prog, fourth := run("a")
	if got := loaded(prog); len(got) != 4 || len(fourth) != 0 {
		t.Fatalf("after editing store: loaded %v, findings %v", got, fourth)
	}

	// Another salt (another binary, flags or go.mod) shares nothing.
	if prog, _ := run("b"); len(loaded(prog)) != 4 {
		t.Fatalf("another salt loaded %v", loaded(prog))
	}
	// Damaged entries are misses, not errors.
	for k := range cache.m {
		cache.m[k] = []byte("not an entry")
	}
	if prog, got := run("b"); len(loaded(prog)) != 4 || len(got) != 0 {
		t.Fatalf("damaged entries: loaded %v, findings %v", loaded(prog), got)
	}
}

// TestPackageCacheCgo: a package that uses cgo is loaded through
// go/packages (which runs cgo), and gives the same findings.
func TestPackageCacheCgo(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler")
	}
	dir := testmodule.New(t, "example.com/m", map[string]string{"store/store.go": storeGo,
		"web/web.go": strings.Replace(strings.Replace(webGo, "import \"example.com/m/store\"", "// int two() { return 2; }\nimport \"C\"\n\nimport \"example.com/m/store\"", 1),
			"return len(c.Items)", "c.Items[0] = int(C.two())\n\treturn len(c.Items)", 1)})
	cache := &memCache{m: map[string][]byte{}}
	an := diagnostics.Analyzers()
	for i, edit := range []string{"", "\n// an edit\n"} {
		web := filepath.Join(dir, "web", "web.go")
		src, _ := os.ReadFile(web)
		os.WriteFile(web, append(src, edit...), 0o644)
		prog, err := driver.Load(context.Background(), driver.Config{Dir: dir, Cache: cache, CacheSalt: "c"})
		if err != nil {
			t.Fatal(err)
		}
		r := prog.Run(an)
		if got := messages(r); len(r.Errors) != 0 || !slices.Equal(got, []string{"web.go: mutated"}) {
			t.Fatalf("run %d: %v %v", i, got, r.Errors)
		}
		if n := driver.FromExport(prog); n != 0 {
			t.Fatalf("run %d: %d cgo packages checked against export data", i, n)
		}
	}
}
