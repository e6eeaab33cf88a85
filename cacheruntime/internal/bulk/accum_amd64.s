#include "textflag.h"

// The XXH3 block loop, shared by accumBlocksAVX2 and accumBlocksFloatsAVX2.
// Registers: AX acc, SI input, CX blocks left, DX secret, R8 the stripe's
// secret offset, R9 stripes left in the block; Y0, Y1 the accumulators,
// Y2, Y3 a stripe's data, Y4-Y7 scratch, Y13 PRIME32_1 in every lane.

// ACCUM_LOAD loads the arguments, the accumulators and PRIME32_1.
#define ACCUM_LOAD \
	MOVQ acc+0(FP), AX \
	MOVQ p+8(FP), SI \
	MOVQ blocks+16(FP), CX \
	MOVQ secret+24(FP), DX \
	VMOVDQU (AX), Y0 \
	VMOVDQU 32(AX), Y1 \
	MOVQ $0x9E3779B1, BX \
	MOVQ BX, X13 \
	VPBROADCASTQ X13, Y13

// STRIPE_DATA loads the stripe at SI into Y2, Y3.
#define STRIPE_DATA \
	VMOVDQU (SI), Y2 \
	VMOVDQU 32(SI), Y3

// STRIPE_ACCUM accumulates the stripe in Y2, Y3 against the secret at
// DX+R8: dk = data ^ key; acc += swap64(data) + lo32(dk)*hi32(dk).
#define STRIPE_ACCUM \
	VMOVDQU  (DX)(R8*1), Y4 \
	VMOVDQU  32(DX)(R8*1), Y5 \
	VPXOR    Y2, Y4, Y4 \
	VPXOR    Y3, Y5, Y5 \
	VPSRLQ   $32, Y4, Y6 \
	VPSRLQ   $32, Y5, Y7 \
	VPMULUDQ Y6, Y4, Y4 \
	VPMULUDQ Y7, Y5, Y5 \
	VPSHUFD  $0x4e, Y2, Y2 \
	VPSHUFD  $0x4e, Y3, Y3 \
	VPADDQ   Y2, Y0, Y0 \
	VPADDQ   Y3, Y1, Y1 \
	VPADDQ   Y4, Y0, Y0 \
	VPADDQ   Y5, Y1, Y1

// SCRAMBLE ends a block: acc ^= acc>>47; acc ^= secret[128:192];
// acc *= PRIME32_1.
#define SCRAMBLE \
	VPSRLQ   $47, Y0, Y2 \
	VPSRLQ   $47, Y1, Y3 \
	VPXOR    Y2, Y0, Y0 \
	VPXOR    Y3, Y1, Y1 \
	VPXOR    128(DX), Y0, Y0 \
	VPXOR    160(DX), Y1, Y1 \
	VPSRLQ   $32, Y0, Y2 \
	VPSRLQ   $32, Y1, Y3 \
	VPMULUDQ Y13, Y0, Y0 \
	VPMULUDQ Y13, Y1, Y1 \
	VPMULUDQ Y13, Y2, Y2 \
	VPMULUDQ Y13, Y3, Y3 \
	VPSLLQ   $32, Y2, Y2 \
	VPSLLQ   $32, Y3, Y3 \
	VPADDQ   Y2, Y0, Y0 \
	VPADDQ   Y3, Y1, Y1

// ACCUM_STORE writes the accumulators back.
#define ACCUM_STORE \
	VMOVDQU Y0, (AX) \
	VMOVDQU Y1, 32(AX)

// The AVX-512 block loop, unrolled: the eight accumulators in four ZMM
// registers, Z0, Z1, Z5 and Z6 taking stripes 0, 1, 2, 3 mod 4 (sums are
// the same in any order, and four chains of additions run in parallel),
// added together before each scramble; the sixteen stripes' keys stay in
// Z16-Z31 for the whole call; Z13 holds PRIME32_1. For floats,
// VFPCLASSPD classifies each stripe's eight words into K1 (0x85: quiet
// NaN, -0, signalling NaN), ORed into K2.

// ACCUM_LOAD512 loads the arguments, the accumulators, PRIME32_1 and the
// stripes' keys.
#define ACCUM_LOAD512 \
	MOVQ         acc+0(FP), AX \
	MOVQ         p+8(FP), SI \
	MOVQ         blocks+16(FP), CX \
	MOVQ         secret+24(FP), DX \
	VMOVDQU64    (AX), Z0 \
	VPXORQ       Z1, Z1, Z1 \
	VPXORQ       Z5, Z5, Z5 \
	VPXORQ       Z6, Z6, Z6 \
	MOVQ         $0x9E3779B1, BX \
	VPBROADCASTQ BX, Z13 \
	VMOVDQU64    0(DX), Z16 \
	VMOVDQU64    8(DX), Z17 \
	VMOVDQU64    16(DX), Z18 \
	VMOVDQU64    24(DX), Z19 \
	VMOVDQU64    32(DX), Z20 \
	VMOVDQU64    40(DX), Z21 \
	VMOVDQU64    48(DX), Z22 \
	VMOVDQU64    56(DX), Z23 \
	VMOVDQU64    64(DX), Z24 \
	VMOVDQU64    72(DX), Z25 \
	VMOVDQU64    80(DX), Z26 \
	VMOVDQU64    88(DX), Z27 \
	VMOVDQU64    96(DX), Z28 \
	VMOVDQU64    104(DX), Z29 \
	VMOVDQU64    112(DX), Z30 \
	VMOVDQU64    120(DX), Z31

// STRIPE512 accumulates the stripe at off(SI) with key into acc:
// dk = data ^ key; acc += swap64(data) + lo32(dk)*hi32(dk).
#define STRIPE512(off, key, acc) \
	VMOVDQU64 off(SI), Z2 \
	VPXORQ    key, Z2, Z3 \
	VPSRLQ    $32, Z3, Z4 \
	VPMULUDQ  Z4, Z3, Z3 \
	VPSHUFD   $0x4e, Z2, Z2 \
	VPADDQ    Z2, acc, acc \
	VPADDQ    Z3, acc, acc

// FSTRIPE512 is STRIPE512 that also classifies the stripe's words.
#define FSTRIPE512(off, key, acc) \
	VMOVDQU64   off(SI), Z2 \
	VFPCLASSPDZ $0x85, Z2, K1 \
	KORB        K1, K2, K2 \
	VPXORQ      key, Z2, Z3 \
	VPSRLQ      $32, Z3, Z4 \
	VPMULUDQ    Z4, Z3, Z3 \
	VPSHUFD     $0x4e, Z2, Z2 \
	VPADDQ      Z2, acc, acc \
	VPADDQ      Z3, acc, acc

// BLOCK512 runs the sixteen stripes of a block with S, one of the
// stripe macros.
#define BLOCK512(S) \
	S(0, Z16, Z0) \
	S(64, Z17, Z1) \
	S(128, Z18, Z5) \
	S(192, Z19, Z6) \
	S(256, Z20, Z0) \
	S(320, Z21, Z1) \
	S(384, Z22, Z5) \
	S(448, Z23, Z6) \
	S(512, Z24, Z0) \
	S(576, Z25, Z1) \
	S(640, Z26, Z5) \
	S(704, Z27, Z6) \
	S(768, Z28, Z0) \
	S(832, Z29, Z1) \
	S(896, Z30, Z5) \
	S(960, Z31, Z6)

// SCRAMBLE512 ends a block: acc = Z0 + Z1 + Z5 + Z6; acc ^= acc>>47;
// acc ^= secret[128:192]; acc *= PRIME32_1; Z1 = Z5 = Z6 = 0.
#define SCRAMBLE512 \
	VPADDQ     Z1, Z0, Z0 \
	VPADDQ     Z6, Z5, Z5 \
	VPADDQ     Z5, Z0, Z0 \
	VPXORQ     Z1, Z1, Z1 \
	VPXORQ     Z5, Z5, Z5 \
	VPXORQ     Z6, Z6, Z6 \
	VPSRLQ     $47, Z0, Z2 \
	VPTERNLOGQ $0x96, 128(DX), Z2, Z0 \
	VPSRLQ     $32, Z0, Z2 \
	VPMULUDQ   Z13, Z0, Z0 \
	VPMULUDQ   Z13, Z2, Z2 \
	VPSLLQ     $32, Z2, Z2 \
	VPADDQ     Z2, Z0, Z0

// func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL subleaf+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	XORL CX, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func accumBlocksAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)
//
// XXH3's block loop over blocks whole blocks (16 stripes of 64 bytes,
// then a scramble, each).
TEXT ·accumBlocksAVX2(SB), NOSPLIT, $0-32
	ACCUM_LOAD

block:
	TESTQ CX, CX
	JZ    done
	XORQ  R8, R8
	MOVQ  $16, R9

stripe:
	STRIPE_DATA
	STRIPE_ACCUM
	ADDQ $64, SI
	ADDQ $8, R8
	DECQ R9
	JNZ  stripe
	SCRAMBLE
	DECQ CX
	JMP  block

done:
	ACCUM_STORE
	VZEROUPPER
	RET

// func canonicalAVX2(p *uint64, n int) bool
//
// Four words per register, 16 per iteration: a word is bad if it is -0
// (0x8000000000000000) or a NaN (|x| > +Inf as a signed compare of the
// sign-cleared word) other than CanonNaN. Bad lanes are ORed into Y8.
TEXT ·canonicalAVX2(SB), NOSPLIT, $0-17
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ $0x8000000000000000, AX
	MOVQ AX, X9
	VPBROADCASTQ X9, Y9          // -0
	MOVQ $0x7fffffffffffffff, AX
	MOVQ AX, X10
	VPBROADCASTQ X10, Y10        // sign mask
	MOVQ $0x7ff0000000000000, AX
	MOVQ AX, X11
	VPBROADCASTQ X11, Y11        // +Inf
	MOVQ $0x7ff8000000000001, AX
	MOVQ AX, X12
	VPBROADCASTQ X12, Y12        // CanonNaN
	VPXOR Y8, Y8, Y8

loop:
	TESTQ CX, CX
	JZ    done
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	// -0
	VPCMPEQQ Y9, Y0, Y4
	VPCMPEQQ Y9, Y1, Y5
	VPCMPEQQ Y9, Y2, Y6
	VPCMPEQQ Y9, Y3, Y7
	VPOR     Y4, Y8, Y8
	VPOR     Y5, Y8, Y8
	VPOR     Y6, Y8, Y8
	VPOR     Y7, Y8, Y8
	// NaN and not CanonNaN
	VPAND    Y10, Y0, Y4
	VPAND    Y10, Y1, Y5
	VPAND    Y10, Y2, Y6
	VPAND    Y10, Y3, Y7
	VPCMPGTQ Y11, Y4, Y4
	VPCMPGTQ Y11, Y5, Y5
	VPCMPGTQ Y11, Y6, Y6
	VPCMPGTQ Y11, Y7, Y7
	VPCMPEQQ Y12, Y0, Y0
	VPCMPEQQ Y12, Y1, Y1
	VPCMPEQQ Y12, Y2, Y2
	VPCMPEQQ Y12, Y3, Y3
	VPANDN   Y4, Y0, Y0
	VPANDN   Y5, Y1, Y1
	VPANDN   Y6, Y2, Y2
	VPANDN   Y7, Y3, Y3
	VPOR     Y0, Y8, Y8
	VPOR     Y1, Y8, Y8
	VPOR     Y2, Y8, Y8
	VPOR     Y3, Y8, Y8
	ADDQ     $128, SI
	SUBQ     $16, CX
	JMP      loop

done:
	VPTEST  Y8, Y8
	SETEQ   ret+16(FP)
	VZEROUPPER
	RET

// func accumBlocksFloatsAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte) bool
//
// accumBlocksAVX2 that also checks, on the words it loads anyway, for
// values that may not be canonical: false if any word is -0 or a NaN
// (CanonNaN included — the caller checks precisely then, which is rare).
// Y9 holds -0, Y10 the sign mask, Y11 +Inf; suspect lanes are ORed into Y8.
TEXT ·accumBlocksFloatsAVX2(SB), NOSPLIT, $0-33
	ACCUM_LOAD
	MOVQ $0x8000000000000000, BX
	MOVQ BX, X9
	VPBROADCASTQ X9, Y9
	MOVQ $0x7fffffffffffffff, BX
	MOVQ BX, X10
	VPBROADCASTQ X10, Y10
	MOVQ $0x7ff0000000000000, BX
	MOVQ BX, X11
	VPBROADCASTQ X11, Y11
	VPXOR Y8, Y8, Y8

block:
	TESTQ CX, CX
	JZ    done
	XORQ  R8, R8
	MOVQ  $16, R9

stripe:
	STRIPE_DATA
	VPCMPEQQ Y9, Y2, Y4
	VPCMPEQQ Y9, Y3, Y5
	VPOR     Y4, Y8, Y8
	VPOR     Y5, Y8, Y8
	VPAND    Y10, Y2, Y6
	VPAND    Y10, Y3, Y7
	VPCMPGTQ Y11, Y6, Y6
	VPCMPGTQ Y11, Y7, Y7
	VPOR     Y6, Y8, Y8
	VPOR     Y7, Y8, Y8
	STRIPE_ACCUM
	ADDQ $64, SI
	ADDQ $8, R8
	DECQ R9
	JNZ  stripe
	SCRAMBLE
	DECQ CX
	JMP  block

done:
	ACCUM_STORE
	VPTEST Y8, Y8
	SETEQ  ret+32(FP)
	VZEROUPPER
	RET

// func accumBlocksAVX512(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)
TEXT ·accumBlocksAVX512(SB), NOSPLIT, $0-32
	ACCUM_LOAD512

block512:
	TESTQ CX, CX
	JZ    done512
	BLOCK512(STRIPE512)
	SCRAMBLE512
	ADDQ  $1024, SI
	DECQ  CX
	JMP   block512

done512:
	VMOVDQU64 Z0, (AX)
	VZEROUPPER
	RET

// func accumBlocksFloatsAVX512(acc *[8]uint64, p *byte, blocks int, secret *[192]byte) bool
//
// accumBlocksAVX512 that also reports whether no word it read is -0 or a
// NaN (CanonNaN included — the caller checks precisely then).
TEXT ·accumBlocksFloatsAVX512(SB), NOSPLIT, $0-33
	ACCUM_LOAD512
	KXORB K2, K2, K2

fblock512:
	TESTQ CX, CX
	JZ    fdone512
	BLOCK512(FSTRIPE512)
	SCRAMBLE512
	ADDQ  $1024, SI
	DECQ  CX
	JMP   fblock512

fdone512:
	VMOVDQU64 Z0, (AX)
	KORTESTB  K2, K2
	SETEQ     ret+32(FP)
	VZEROUPPER
	RET
