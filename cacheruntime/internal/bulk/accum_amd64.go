package bulk

import "unsafe"

// useAVX2 is whether this CPU and OS run AVX2 (CPUID and XGETBV: the
// standard library's own feature flags are internal).
var useAVX2 = hasAVX2()

func hasAVX2() bool

// useAVX512 is whether the block loops can use AVX-512 (F and DQ): the
// accumulators in one register, and for floats one VFPCLASSPD per 64
// bytes instead of ten AVX2 instructions.
var useAVX512 = useAVX2 && hasAVX512DQ()

func hasAVX512DQ() bool

// accumBlocksAVX2 is accumBlocksGeneric over blocks whole blocks at p,
// with the accumulators in two YMM registers.
//
//go:noescape
func accumBlocksAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)

// accumBlocksAVX512 is accumBlocksAVX2 with the accumulators in one ZMM
// register (AVX-512 F).
//
//go:noescape
func accumBlocksAVX512(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)

func accumBlocks(acc *[8]uint64, b []byte) {
	if useAVX2 && len(b) >= blockLen {
		if useAVX512 {
			accumBlocksAVX512(acc, &b[0], len(b)/blockLen, &secret)
		} else {
			accumBlocksAVX2(acc, &b[0], len(b)/blockLen, &secret)
		}
		return
	}
	accumBlocksGeneric(acc, b)
}

// canonicalAVX2 is canonicalGeneric over n (a multiple of 16) words at p.
//
//go:noescape
func canonicalAVX2(p *uint64, n int) bool

// setAVX2 switches the assembly paths (tests compare both); setAVX512
// switches the AVX-512 float scan within them.
func setAVX2(on bool) { useAVX2 = on }

func setAVX512(on bool) { useAVX512 = on }

// accumBlocksFloatsAVX512 is accumBlocksAVX512 with the float check done
// by AVX-512's VFPCLASSPD.
//
//go:noescape
func accumBlocksFloatsAVX512(acc *[8]uint64, p *byte, blocks int, secret *[192]byte) bool

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
		var ok bool
		if useAVX512 {
			ok = accumBlocksFloatsAVX512(acc, &b[0], len(b)/blockLen, &secret)
		} else {
			ok = accumBlocksFloatsAVX2(acc, &b[0], len(b)/blockLen, &secret)
		}
		return ok ||
			CanonicalFloats(unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8))
	}
	return accumBlocksFloatsGeneric(acc, b)
}
