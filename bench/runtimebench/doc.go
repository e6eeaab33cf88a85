// Package runtimebench compares cacheruntime with a hand-written memo and
// with peer libraries (mitchellh/hashstructure, gohugoio/hashstructure,
// huandu/go-clone) side by side in one run. It lives in its own module so
// nobody who imports cacheruntime downloads the peers. See
// docs/benchmarks.md for the figures and how to reproduce them.
package runtimebench
