package runtimeapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/internal/runtimeapi"
)

// TestVariantsMatchTheLibrary: every exported function of cacheruntime
// whose name starts with Func is a variant, and every variant exists.
func TestVariantsMatchTheLibrary(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../cacheruntime/*.go")
	if err != nil || len(files) == 0 {
		t.Fatal("cacheruntime's sources not found", err)
	}
	found := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() && strings.HasPrefix(fd.Name.Name, "Func") {
				found[fd.Name.Name] = true
				if !runtimeapi.IsVariant(fd.Name.Name) {
					t.Errorf("cacheruntime.%s is not listed as a variant", fd.Name.Name)
				}
			}
		}
	}
	for _, v := range []string{"Func", "Func0", "Func1", "Func2", "Func3", "Func0E", "Func1E", "Func2E", "Func3E"} {
		if !found[v] {
			t.Errorf("variant %s is not a function of cacheruntime", v)
		}
	}
}
