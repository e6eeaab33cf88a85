package bulk

import (
	"math"
	"unsafe"
)

// CanonNaN is the bit pattern every NaN is hashed as.
const CanonNaN = 0x7ff8000000000001

// CanonicalFloats reports whether every element of f is already in the
// form keys hash floats by value: no -0 (it hashes as +0) and no NaN other
// than CanonNaN. Such a slice can be hashed as raw memory.
func CanonicalFloats(f []float64) bool {
	if len(f) == 0 {
		return true
	}
	u := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(f))), len(f))
	if useAVX2 && len(u) >= 16 {
		n := len(u) &^ 15
		if !canonicalAVX2(&u[0], n) {
			return false
		}
		u = u[n:]
	}
	return canonicalGeneric(u)
}

func canonicalGeneric(u []uint64) bool {
	for _, x := range u {
		if x == 1<<63 || x&math.MaxInt64 > 0x7ff0000000000000 && x != CanonNaN {
			return false
		}
	}
	return true
}

// accumBlocksFloatsGeneric scans, then accumulates.
func accumBlocksFloatsGeneric(acc *[8]uint64, b []byte) bool {
	ok := canonicalGeneric(unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8))
	accumBlocksGeneric(acc, b)
	return ok
}

// Sum128Floats is Sum128 of f's memory, and whether f is canonical
// (CanonicalFloats) — found in the same pass over the memory where the
// assembly path runs, so a long slice is read once. When f is not
// canonical the hash is of its raw memory, which keys must not use.
func Sum128Floats(f []float64) (hi, lo uint64, canonical bool) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*8)
	if len(b) <= 240 {
		hi, lo = Sum128(b)
		return hi, lo, CanonicalFloats(f)
	}
	n := len(b)
	acc := initAcc
	blocks := (n - 1) / blockLen
	canonical = accumBlocksFloats(&acc, b[:blocks*blockLen])
	canonical = canonical && canonicalGeneric(unsafe.Slice((*uint64)(unsafe.Pointer(&b[blocks*blockLen])), (n-blocks*blockLen)/8))
	accumTail(&acc, b, blocks)
	hi, lo = finishLong(&acc, n)
	return hi, lo, canonical
}
