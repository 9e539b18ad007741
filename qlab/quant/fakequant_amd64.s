//go:build amd64 && !purego

#include "textflag.h"

// func fakeQuantAVX512(y, x *float32, n int, a *fqArgs) int
//
// Fake-quantizes n floats of x into y, 16 per vector (a masked tail), as
// QParams.fakeQuantRun's loops do element by element (see fqArgs). Returns
// 1, leaving y partly written, when x holds a NaN.
//
// fqArgs offsets: tf 0, inv 8, scale 12, lo 16, hi 20, magic 24 (torch:
// lo/hi are qmin-zp and qmax-zp; tf: nmin and nmax).
TEXT ·fakeQuantAVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ a+24(FP), R8
	VBROADCASTSS 8(R8), Z20  // inv
	VBROADCASTSS 12(R8), Z21 // scale
	VBROADCASTSS 16(R8), Z22 // lo / nmin
	VBROADCASTSS 20(R8), Z23 // hi / nmax
	VBROADCASTSS 24(R8), Z24 // 1.5*2^23
	MOVL $0x3f000000, AX     // 0.5
	VPBROADCASTD AX, Z25
	MOVQ 0(R8), R9           // tf?
fqloop:
	TESTQ CX, CX
	JLE  fqdone
	MOVL $0xFFFF, DX
	CMPQ CX, $16
	JGE  fqfull
	MOVL $1, DX
	SHLL CX, DX
	DECL DX
fqfull:
	KMOVW DX, K1
	VMOVUPS.Z (SI), K1, Z0
	VCMPPS $3, Z0, Z0, K1, K2 // unordered: NaN
	KORTESTW K2, K2
	JNZ  fqnan
	TESTQ R9, R9
	JNZ  fqtf
	// r = clamp(float32(v*inv), lo, hi); r = (r + magic) - magic; y = r*scale
	VMULPS Z20, Z0, Z0
	VMAXPS Z22, Z0, Z0
	VMINPS Z23, Z0, Z0
	VADDPS Z24, Z0, Z0
	VSUBPS Z24, Z0, Z0
	VMULPS Z21, Z0, Z0
	JMP  fqput
fqtf:
	// k = trunc(float32(float32(clamp(v) - nmin)*inv) + 0.5); y = float32(k)*scale + nmin
	VMAXPS Z22, Z0, Z0
	VMINPS Z23, Z0, Z0
	VSUBPS Z22, Z0, Z0
	VMULPS Z20, Z0, Z0
	VADDPS Z25, Z0, Z0
	VCVTTPS2DQ Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z21, Z0, Z0
	VADDPS Z22, Z0, Z0
fqput:
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  fqloop
fqdone:
	MOVQ $0, ret+32(FP)
	VZEROUPPER
	RET
fqnan:
	MOVQ $1, ret+32(FP)
	VZEROUPPER
	RET
