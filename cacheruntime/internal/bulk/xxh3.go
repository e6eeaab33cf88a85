// Package bulk hashes bulk memory for cacheruntime's keys: Sum128 is
// XXH3-128, the 128-bit variant of xxHash's XXH3
// (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md), with the
// default secret and seed 0 — a hash of bytes that is the same in every
// process, build and machine and runs near memory speed on long inputs —
// and CanonicalFloats decides whether a []float64 can be hashed as raw
// memory under the keys' float rules.
//
// cacheruntime hashes long byte runs of keys with it, so that keys can be
// compared across processes (persisted and shared results need that).
// XXH3 is written here from the specification; the tests check it against
// the reference's values. On amd64 the block loop and the float scan use
// AVX-512 or AVX2 when the CPU has them, with a pure-Go path everywhere
// else that the tests and fuzzers hold to the same results.
package bulk

import (
	"encoding/binary"
	"math/bits"
)

const (
	prime32_1 = 0x9E3779B1
	prime32_2 = 0x85EBCA77
	prime32_3 = 0xC2B2AE3D
	prime64_1 = 0x9E3779B185EBCA87
	prime64_2 = 0xC2B2AE3D27D4EB4F
	prime64_3 = 0x165667B19E3779F9
	prime64_4 = 0x85EBCA77C2B2AE63
	prime64_5 = 0x27D4EB2F165667C5
)

// secret is XXH3's default secret (kSecret).
var secret = [192]byte{
	0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
	0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
	0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
	0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
	0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
	0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
	0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
	0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
	0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
	0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
	0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
	0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
}

const (
	stripeLen        = 64
	secretConsume    = 8                                         // bytes of secret per stripe
	stripesPerBlock  = (len(secret) - stripeLen) / secretConsume // 16
	blockLen         = stripeLen * stripesPerBlock               // 1024
	secretLastAcc    = 7                                         // XXH_SECRET_LASTACC_START
	midsizeStart     = 3                                         // XXH3_MIDSIZE_STARTOFFSET
	midsizeLast      = 17                                        // XXH3_MIDSIZE_LASTOFFSET
	secretSizeMin    = 136                                       // XXH3_SECRET_SIZE_MIN
	secretMergeStart = 11                                        // XXH_SECRET_MERGEACCS_START
)

func r64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
func r32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }
func s64(i int) uint64           { return binary.LittleEndian.Uint64(secret[i:]) }
func s32(i int) uint32           { return binary.LittleEndian.Uint32(secret[i:]) }

func mulFold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func avalanche(h uint64) uint64 {
	h ^= h >> 37
	h *= 0x165667919E3779F9
	return h ^ h>>32
}

func avalanche64(h uint64) uint64 {
	h ^= h >> 33
	h *= prime64_2
	h ^= h >> 29
	h *= prime64_3
	return h ^ h>>32
}

// Sum128 returns the XXH3-128 hash of b (seed 0): its high and low halves,
// as the reference prints them (high first).
func Sum128(b []byte) (hi, lo uint64) {
	n := len(b)
	switch {
	case n == 0:
		return avalanche64(s64(80) ^ s64(88)), avalanche64(s64(64) ^ s64(72))
	case n <= 3:
		c1, c2, c3 := uint32(b[0]), uint32(b[n>>1]), uint32(b[n-1])
		l := c1<<16 | c2<<24 | c3 | uint32(n)<<8
		h := bits.RotateLeft32(bits.ReverseBytes32(l), 13)
		return avalanche64(uint64(h) ^ uint64(s32(8)^s32(12))), avalanche64(uint64(l) ^ uint64(s32(0)^s32(4)))
	case n <= 8:
		x := uint64(r32(b, 0)) | uint64(r32(b, n-4))<<32
		mh, ml := bits.Mul64(x^(s64(16)^s64(24)), prime64_1+uint64(n)<<2)
		mh += ml << 1
		ml ^= mh >> 3
		ml ^= ml >> 35
		ml *= 0x9FB21C651E98DF25
		ml ^= ml >> 28
		return avalanche(mh), ml
	case n <= 16:
		xl, xh := r64(b, 0), r64(b, n-8)
		mh, ml := bits.Mul64(xl^xh^(s64(32)^s64(40)), prime64_1)
		ml += uint64(n-1) << 54
		xh ^= s64(48) ^ s64(56)
		mh += xh + uint64(uint32(xh))*(prime32_2-1)
		ml ^= bits.ReverseBytes64(mh)
		hh, hl := bits.Mul64(ml, prime64_2)
		hh += mh * prime64_2
		return avalanche(hh), avalanche(hl)
	case n <= 128:
		accL, accH := uint64(n)*prime64_1, uint64(0)
		if n > 32 {
			if n > 64 {
				if n > 96 {
					accL, accH = mix32(accL, accH, b, 48, n-64, 96)
				}
				accL, accH = mix32(accL, accH, b, 32, n-48, 64)
			}
			accL, accH = mix32(accL, accH, b, 16, n-32, 32)
		}
		accL, accH = mix32(accL, accH, b, 0, n-16, 0)
		return finish(accL, accH, n)
	case n <= 240:
		accL, accH := uint64(n)*prime64_1, uint64(0)
		for i := range 4 {
			accL, accH = mix32(accL, accH, b, 32*i, 32*i+16, 32*i)
		}
		accL, accH = avalanche(accL), avalanche(accH)
		for i := 4; i < n/32; i++ {
			accL, accH = mix32(accL, accH, b, 32*i, 32*i+16, midsizeStart+32*(i-4))
		}
		accL, accH = mix32(accL, accH, b, n-16, n-32, secretSizeMin-midsizeLast-16)
		return finish(accL, accH, n)
	}
	acc := initAcc
	blocks := (n - 1) / blockLen
	accumBlocks(&acc, b[:blocks*blockLen])
	accumTail(&acc, b, blocks)
	return finishLong(&acc, n)
}

// initAcc is the accumulators' start for inputs over 240 bytes.
var initAcc = [8]uint64{prime32_3, prime64_1, prime64_2, prime64_3, prime64_4, prime32_2, prime64_5, prime32_1}

// accumTail accumulates what follows the whole blocks of b: the stripes of
// the last, partial block, then the last 64 bytes against the secret's
// last-stripe offset.
func accumTail(acc *[8]uint64, b []byte, blocks int) {
	n := len(b)
	accumulate(acc, b[blocks*blockLen:], (n-1-blocks*blockLen)/stripeLen, 0, 1)
	accumulate(acc, b[n-stripeLen:], 1, len(secret)-stripeLen-secretLastAcc, 0)
}

// finishLong merges the accumulators into the two halves.
func finishLong(acc *[8]uint64, n int) (hi, lo uint64) {
	lo = merge(acc, secretMergeStart, uint64(n)*prime64_1)
	hi = merge(acc, len(secret)-stripeLen-secretMergeStart, ^(uint64(n) * prime64_2))
	return hi, lo
}

// mix16 is XXH3_mix16B with seed 0: 16 bytes of b at i against the secret
// at s.
func mix16(b []byte, i, s int) uint64 {
	return mulFold(r64(b, i)^s64(s), r64(b, i+8)^s64(s+8))
}

// mix32 is XXH3_mix32B with seed 0.
func mix32(accL, accH uint64, b []byte, i1, i2, s int) (uint64, uint64) {
	accL += mix16(b, i1, s)
	accL ^= r64(b, i2) + r64(b, i2+8)
	accH += mix16(b, i2, s+16)
	accH ^= r64(b, i1) + r64(b, i1+8)
	return accL, accH
}

func finish(accL, accH uint64, n int) (hi, lo uint64) {
	lo = accL + accH
	hi = accL*prime64_1 + accH*prime64_4 + uint64(n)*prime64_2
	return -avalanche(hi), avalanche(lo)
}

func merge(acc *[8]uint64, s int, start uint64) uint64 {
	for i := range 4 {
		start += mulFold(acc[2*i]^s64(s+16*i), acc[2*i+1]^s64(s+16*i+8))
	}
	return avalanche(start)
}

// scramble is XXH3_scrambleAcc with the secret's last 64 bytes.
func scramble(acc *[8]uint64) {
	s := (*[stripeLen]byte)(secret[len(secret)-stripeLen:])
	for i := range acc {
		a := acc[i]
		a ^= a >> 47
		a ^= binary.LittleEndian.Uint64(s[8*i:])
		acc[i] = a * prime32_1
	}
}
