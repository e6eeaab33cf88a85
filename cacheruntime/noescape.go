//go:build amd64 || arm64

package cacheruntime

import "unsafe"

// noescape returns p unchanged while hiding it from escape analysis, so
// values handed to the compiled hash and clone functions (which are called
// indirectly and never retain the pointer) can stay on the caller's stack.
// It is implemented in assembly where the //go:noescape contract is
// available, and as a plain identity elsewhere (correct, but the value then
// escapes to the heap).
//
//go:noescape
func noescape(p unsafe.Pointer) unsafe.Pointer
