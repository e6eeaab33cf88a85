//go:build !amd64

package bulk

func accumBlocks(acc *[8]uint64, b []byte) { accumBlocksGeneric(acc, b) }

const useAVX2 = false

func canonicalAVX2(p *uint64, n int) bool { panic("unreachable") }

func setAVX2(bool) {}

func accumBlocksFloats(acc *[8]uint64, b []byte) bool { return accumBlocksFloatsGeneric(acc, b) }

const useAVX512 = false

func setAVX512(bool) {}
