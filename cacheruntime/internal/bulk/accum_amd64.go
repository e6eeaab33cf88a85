package bulk

import "unsafe"

// useAVX2 is whether this CPU and OS run AVX2 (CPUID and XGETBV: the
// standard library's own feature flags are internal).
var useAVX2 = hasAVX2()

func hasAVX2() bool

// accumBlocksAVX2 is accumBlocksGeneric over blocks whole blocks at p,
// with the accumulators in two YMM registers.
//
//go:noescape
func accumBlocksAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)

func accumBlocks(acc *[8]uint64, b []byte) {
	if useAVX2 && len(b) >= blockLen {
		accumBlocksAVX2(acc, &b[0], len(b)/blockLen, &secret)
		return
	}
	accumBlocksGeneric(acc, b)
}

// canonicalAVX2 is canonicalGeneric over n (a multiple of 16) words at p.
//
//go:noescape
func canonicalAVX2(p *uint64, n int) bool

// setAVX2 switches the assembly paths (tests compare both).
func setAVX2(on bool) { useAVX2 = on }

// accumBlocksFloatsAVX2 is accumBlocksAVX2 that also reports, in the same
// pass, whether the words it read are surely canonical floats (false if
// any is -0 or any NaN: then CanonicalFloats decides).
//
//go:noescape
func accumBlocksFloatsAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte) bool

// accumBlocksFloats runs whole blocks of b and reports whether b, read as
// float64s, is canonical.
func accumBlocksFloats(acc *[8]uint64, b []byte) bool {
	if useAVX2 && len(b) >= blockLen {
		return accumBlocksFloatsAVX2(acc, &b[0], len(b)/blockLen, &secret) ||
			CanonicalFloats(unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8))
	}
	return accumBlocksFloatsGeneric(acc, b)
}
