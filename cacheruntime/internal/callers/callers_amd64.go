package callers

// PCs returns the return address of its caller and of its caller's
// caller, from the frame-pointer chain (a few instructions, against about
// 75 ns for runtime.Callers). The calling function must not be inlined.
func PCs() (pc1, pc2 uintptr)

// fpCallers fills pcs with up to n return addresses from the frame-pointer
// chain, the first being its caller's return address.
//
//go:noescape
func fpCallers(pcs *uintptr, n int) int

// Callers is runtime.Callers(2, pcs) done by walking frame pointers.
//
//go:noinline
func Callers(pcs []uintptr) int {
	if len(pcs) == 0 {
		return 0
	}
	// The first address fpCallers finds is this function's return
	// address, which lies in its caller. runtime.Callers(2, pcs) called by
	// that caller would start one frame further out, at the caller's own
	// return address: skip the first.
	var buf [16]uintptr
	n := fpCallers(&buf[0], min(len(pcs)+1, len(buf)))
	if n <= 1 {
		return 0
	}
	return copy(pcs, buf[1:n])
}
