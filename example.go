// Package cachelens holds what the cachelens command ships with: the
// example program `cachelens demo` builds, runs and annotates. The
// library programs import is github.com/cachelens/cachelens/cacheruntime.
package cachelens

import _ "embed"

// ExampleProgram is the source of example/catalog/main.go, a small
// catalog service that caches its loads with cacheruntime and makes the
// mistakes cachelens catches (an unhashable argument, a mutated result).
//
//go:embed example/catalog/main.go
var ExampleProgram []byte
