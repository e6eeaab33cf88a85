// Package runtimeapi names cacheruntime's API for the code that reads
// users' programs: the static checks (diagnostics), the quick fixes
// (codeactions) and the language server's placement of run-time data
// (server/internal/anchor). It is the one list of those names, so that a new
// variant of Func is known everywhere at once.
package runtimeapi

// Path is the import path of the cache library.
const Path = "github.com/cachelens/cachelens/cacheruntime"

// Name is the package name programs import Path under by default.
const Name = "cacheruntime"

// variants are the functions that create a cached function.
var variants = map[string]bool{
	"Func": true, "Func0": true, "Func1": true, "Func2": true, "Func3": true,
	"Func0E": true, "Func1E": true, "Func2E": true, "Func3E": true,
}

// IsVariant reports whether name is one of the functions of Path that
// create a cached function (Func, Func0…Func3, Func0E…Func3E).
func IsVariant(name string) bool { return variants[name] }
