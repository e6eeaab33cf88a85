// Package tested has a cached function and a test that calls it, with no
// TestMain: the lossless-reporting tests run `go test` on it and expect
// the test binary's counts to reach the language server.
package tested

import "github.com/cachelens/cachelens/cacheruntime"

// Square is cached.
var Square = cacheruntime.Func1(func(x int) int { return x * x })
