//go:build !amd64

package xxh3

func accumBlocks(acc *[8]uint64, b []byte) { accumBlocksGeneric(acc, b) }
