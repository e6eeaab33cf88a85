package diagnostics_test

import (
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/tools/go/packages"
)

// api lists the exported names of a package with their types.
func api(t *testing.T, cfg *packages.Config, path string) map[string]string {
	t.Helper()
	cfg.Mode = packages.NeedTypes | packages.NeedName
	pkgs, err := packages.Load(cfg, path)
	if err != nil || len(pkgs) != 1 || pkgs[0].Types == nil {
		t.Fatalf("loading %s: %v %v", path, err, pkgs)
	}
	out := map[string]string{}
	scope := pkgs[0].Types.Scope()
	qual := func(p *types.Package) string { return p.Name() }
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		if _, ok := obj.(*types.Func); ok {
			out[name] = types.TypeString(obj.Type(), qual)
		}
	}
	return out
}

// TestStubMatchesAPI: the analyzers' tests use a stub of cacheruntime; it
// must offer every exported function of the real one with the same type.
func TestStubMatchesAPI(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	real := api(t, &packages.Config{Dir: ".."}, "github.com/cachelens/cachelens/cacheruntime")
	stub := api(t, &packages.Config{Dir: dir, Env: append(os.Environ(), "GOPATH="+dir, "GO111MODULE=off")}, "github.com/cachelens/cachelens/cacheruntime")
	var names []string
	for n := range real {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "NewReporter" || n == "WithReporter" {
			continue // reporting is not what the checks look at
		}
		if stub[n] != real[n] {
			t.Errorf("%s: stub has %q, cacheruntime has %q", n, stub[n], real[n])
		}
	}
}
