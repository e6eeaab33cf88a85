//go:build !amd64 && !arm64

package noescape

import "unsafe"

// Pointer returns p. On this architecture there is no assembly version, so
// values passed through it may escape to the heap.
func Pointer(p unsafe.Pointer) unsafe.Pointer { return p }
