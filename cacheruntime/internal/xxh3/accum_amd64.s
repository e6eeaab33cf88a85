#include "textflag.h"

// func hasAVX2() bool
TEXT ·hasAVX2(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, R8
	ANDL $0x18000000, R8 // OSXSAVE and AVX
	CMPL R8, $0x18000000
	JNE  no
	XORL CX, CX
	XGETBV               // XCR0: the OS saves XMM and YMM state
	ANDL $6, AX
	CMPL AX, $6
	JNE  no
	MOVL $7, AX
	XORL CX, CX
	CPUID
	ANDL $0x20, BX       // AVX2
	JZ   no
	MOVB $1, ret+0(FP)
	RET
no:
	MOVB $0, ret+0(FP)
	RET

// func accumBlocksAVX2(acc *[8]uint64, p *byte, blocks int, secret *[192]byte)
//
// Per stripe (64 bytes, two YMM halves): dk = data ^ key;
// acc += swap64(data) + lo32(dk)*hi32(dk). After 16 stripes (a block) the
// accumulators are scrambled: acc ^= acc>>47; acc ^= key[128:192];
// acc *= PRIME32_1.
TEXT ·accumBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), AX
	MOVQ p+8(FP), SI
	MOVQ blocks+16(FP), CX
	MOVQ secret+24(FP), DX
	VMOVDQU (AX), Y0
	VMOVDQU 32(AX), Y1
	MOVQ $0x9E3779B1, BX
	MOVQ BX, X13
	VPBROADCASTQ X13, Y13
	VMOVDQU 128(DX), Y11
	VMOVDQU 160(DX), Y12

block:
	TESTQ CX, CX
	JZ    done
	XORQ  R8, R8
	MOVQ  $16, R9

stripe:
	VMOVDQU  (SI), Y2
	VMOVDQU  32(SI), Y3
	VMOVDQU  (DX)(R8*1), Y4
	VMOVDQU  32(DX)(R8*1), Y5
	VPXOR    Y2, Y4, Y4
	VPXOR    Y3, Y5, Y5
	VPSRLQ   $32, Y4, Y6
	VPSRLQ   $32, Y5, Y7
	VPMULUDQ Y6, Y4, Y4
	VPMULUDQ Y7, Y5, Y5
	VPSHUFD  $0x4e, Y2, Y2
	VPSHUFD  $0x4e, Y3, Y3
	VPADDQ   Y2, Y0, Y0
	VPADDQ   Y3, Y1, Y1
	VPADDQ   Y4, Y0, Y0
	VPADDQ   Y5, Y1, Y1
	ADDQ     $64, SI
	ADDQ     $8, R8
	DECQ     R9
	JNZ      stripe

	VPSRLQ   $47, Y0, Y2
	VPSRLQ   $47, Y1, Y3
	VPXOR    Y2, Y0, Y0
	VPXOR    Y3, Y1, Y1
	VPXOR    Y11, Y0, Y0
	VPXOR    Y12, Y1, Y1
	VPSRLQ   $32, Y0, Y2
	VPSRLQ   $32, Y1, Y3
	VPMULUDQ Y13, Y0, Y0
	VPMULUDQ Y13, Y1, Y1
	VPMULUDQ Y13, Y2, Y2
	VPMULUDQ Y13, Y3, Y3
	VPSLLQ   $32, Y2, Y2
	VPSLLQ   $32, Y3, Y3
	VPADDQ   Y2, Y0, Y0
	VPADDQ   Y3, Y1, Y1
	DECQ     CX
	JMP      block

done:
	VMOVDQU Y0, (AX)
	VMOVDQU Y1, 32(AX)
	VZEROUPPER
	RET
