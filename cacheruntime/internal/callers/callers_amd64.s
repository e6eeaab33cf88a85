#include "textflag.h"

// func PCs() (pc1, pc2 uintptr)
//
// Returns the return address of the calling function (pc1) and of the
// calling function's caller (pc2), read from the frame-pointer chain. The
// function is frameless, so BP is still the caller's frame pointer:
// 8(BP) is the caller's return address and 0(BP) its caller's frame.
TEXT ·PCs(SB),NOSPLIT,$0-16
	MOVQ 8(BP), AX
	MOVQ AX, pc1+0(FP)
	MOVQ 0(BP), CX
	MOVQ 8(CX), AX
	MOVQ AX, pc2+8(FP)
	RET

// func fpCallers(pcs *uintptr, n int) int
//
// Fills pcs with up to n return addresses from the frame-pointer chain,
// starting with the caller's own return address (like runtime.Callers(2)).
TEXT ·fpCallers(SB),NOSPLIT,$0-24
	MOVQ pcs+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ BP, AX
	XORQ DX, DX
loop:
	CMPQ DX, CX
	JGE done
	TESTQ AX, AX
	JZ done
	MOVQ 8(AX), BX
	MOVQ BX, (DI)(DX*8)
	MOVQ 0(AX), AX
	INCQ DX
	JMP loop
done:
	MOVQ DX, ret+16(FP)
	RET
