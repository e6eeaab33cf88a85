//go:build !amd64

package callers

import "runtime"

// PCs returns the return address of its caller and of its caller's
// caller. Without a frame-pointer walker for this architecture it uses
// runtime.Callers.
//
//go:noinline
func PCs() (pc1, pc2 uintptr) {
	var pcs [2]uintptr
	runtime.Callers(3, pcs[:])
	return pcs[0], pcs[1]
}

// Callers fills pcs with the return addresses of the caller's callers, like
// runtime.Callers(2, pcs) from the caller.
//
//go:noinline
func Callers(pcs []uintptr) int {
	return runtime.Callers(3, pcs)
}
