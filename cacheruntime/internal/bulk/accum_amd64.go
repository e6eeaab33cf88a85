package bulk

import "unsafe"

// useAVX2 is whether this CPU and OS run AVX2, and useAVX512 whether the
// block loops can use AVX-512 (F and DQ): a block's sixteen stripes
// unrolled with their keys in registers, and for floats one VFPCLASSPD per
// 64 bytes instead of ten AVX2 instructions. (The standard library's own feature flags are
// internal.)
var useAVX2, useAVX512 = features()

// features reads CPUID and XCR0: AVX2 needs the OS to save the XMM and YMM
// state (XCR0 bits 1, 2), AVX-512 the opmask and ZMM state too (5, 6, 7).
func features() (avx2, avx512 bool) {
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false, false
	}
	xcr0, _ := xgetbv()
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2Bit, avx512F, avx512DQ = 1 << 5, 1 << 16, 1 << 17
	avx2 = xcr0&0x6 == 0x6 && ebx7&avx2Bit != 0
	avx512 = avx2 && xcr0&0xe6 == 0xe6 && ebx7&avx512F != 0 && ebx7&avx512DQ != 0
	return avx2, avx512
}

func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// accumBlocksAVX2 is accumBlocksGeneric over blocks whole blocks at p,
// with the accumulators in two YMM registers.
//
//go:noescape
func accumBlocksAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)

// accumBlocksAVX512 is accumBlocksAVX2 in ZMM registers, unrolled, with
// four independent accumulator chains added before each scramble.
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
