//go:build !amd64 && !arm64

package cacheruntime

import "unsafe"

// noescape returns p. On this architecture there is no assembly version, so
// values passed through it may escape to the heap.
func noescape(p unsafe.Pointer) unsafe.Pointer { return p }
