package bulk

import "encoding/binary"

// accumulate is XXH3_accumulate_512 over n stripes of b: stripe i against
// the secret at key+8*i (step 1) or, for the last stripe, at key (step 0).
// The accumulators stay in registers across stripes.
func accumulate(acc *[8]uint64, b []byte, n, key, step int) {
	a0, a1, a2, a3, a4, a5, a6, a7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	le := binary.LittleEndian
	for i := range n {
		in := (*[stripeLen]byte)(b[i*stripeLen:])
		k := (*[stripeLen]byte)(secret[key+i*step*secretConsume:])
		v0, v1 := le.Uint64(in[0:]), le.Uint64(in[8:])
		v2, v3 := le.Uint64(in[16:]), le.Uint64(in[24:])
		v4, v5 := le.Uint64(in[32:]), le.Uint64(in[40:])
		v6, v7 := le.Uint64(in[48:]), le.Uint64(in[56:])
		k0, k1 := v0^le.Uint64(k[0:]), v1^le.Uint64(k[8:])
		k2, k3 := v2^le.Uint64(k[16:]), v3^le.Uint64(k[24:])
		k4, k5 := v4^le.Uint64(k[32:]), v5^le.Uint64(k[40:])
		k6, k7 := v6^le.Uint64(k[48:]), v7^le.Uint64(k[56:])
		a0 += v1 + uint64(uint32(k0))*(k0>>32)
		a1 += v0 + uint64(uint32(k1))*(k1>>32)
		a2 += v3 + uint64(uint32(k2))*(k2>>32)
		a3 += v2 + uint64(uint32(k3))*(k3>>32)
		a4 += v5 + uint64(uint32(k4))*(k4>>32)
		a5 += v4 + uint64(uint32(k5))*(k5>>32)
		a6 += v7 + uint64(uint32(k6))*(k6>>32)
		a7 += v6 + uint64(uint32(k7))*(k7>>32)
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, a4, a5, a6, a7
}

// accumBlocksGeneric runs whole blocks of b (a multiple of blockLen long):
// 16 stripes, then a scramble, each.
func accumBlocksGeneric(acc *[8]uint64, b []byte) {
	for i := 0; i+blockLen <= len(b); i += blockLen {
		accumulate(acc, b[i:i+blockLen], stripesPerBlock, 0, 1)
		scramble(acc)
	}
}
