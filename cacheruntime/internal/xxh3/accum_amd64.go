package xxh3

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
