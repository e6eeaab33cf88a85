// Package diagnostics is cachelens's set of static checks, written as
// golang.org/x/tools/go/analysis analyzers so that one implementation
// serves the language server, `cachelens check` and `go vet -vettool`.
//
//   - unhashable: a cached function's parameter cannot be hashed.
//   - mutated: code changes a result returned by a cached function.
//   - percall: a cache is built anew on every call of a function.
//   - hiddeninput: a cached function reads inputs that are not in its key.
//   - unencodable: a persisted cached function's results cannot be
//     encoded by encoding/gob, so they would stay in memory only.
//   - typedfunc: cacheruntime.Func (reflection) caches a function a typed
//     variant such as Func2 caches several times faster.
//
// Each lives in its own package; cachedfunc is the shared analysis that
// finds cached functions by type information.
//
// Other tools may run these analyzers (a multichecker, gopls's analyzer
// settings): Analyzers is the API.
package diagnostics

import (
	"github.com/cachelens/cachelens/diagnostics/hiddeninput"
	"github.com/cachelens/cachelens/diagnostics/mutated"
	"github.com/cachelens/cachelens/diagnostics/percall"
	"github.com/cachelens/cachelens/diagnostics/typedfunc"
	"github.com/cachelens/cachelens/diagnostics/unencodable"
	"github.com/cachelens/cachelens/diagnostics/unhashable"
	"github.com/cachelens/cachelens/internal/runtimeapi"
	"golang.org/x/tools/go/analysis"
)

// Analyzers returns the checks, in the order they are documented.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{unhashable.Analyzer, mutated.Analyzer, percall.Analyzer, hiddeninput.Analyzer, unencodable.Analyzer, typedfunc.Analyzer}
}

// Requires lists the packages the checks are about: code that imports
// none of them, directly or not, holds no cached function and has nothing
// to find, so drivers need not type-check it (driver.Config.Requires).
func Requires() []string {
	return []string{runtimeapi.Path}
}
