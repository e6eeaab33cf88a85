//go:build amd64 || arm64

// Package noescape hides a pointer from escape analysis, so values
// cacheruntime passes to its compiled hash and clone functions can stay on
// the caller's stack.
package noescape

import "unsafe"

// Pointer returns p unchanged while hiding it from escape analysis, so
// values handed to the compiled hash and clone functions (which are called
// indirectly and never retain the pointer) can stay on the caller's stack.
// It is implemented in assembly where the //go:noescape contract is
// available, and as a plain identity elsewhere (correct, but the value then
// escapes to the heap).
//
//go:noescape
func Pointer(p unsafe.Pointer) unsafe.Pointer
