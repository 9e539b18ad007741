//go:build amd64 && !purego

#include "textflag.h"

// func minMaxAVX512(x *float32, n int, lo, hi *[16]int32) int
//
// Folds n floats of x into lo and hi, 16 lanes each, in the integer key
// key(b) = b ^ ((b >> 31) & 0x7fffffff) of their bits: a total order that
// is the numeric order on finite floats with -0 below +0, so the lanes'
// minimum and maximum are what Go's min and max give. lo and hi must come
// in initialised (key(+Inf), key(-Inf)). Returns 1 as soon as a vector
// holds a NaN or an infinity (lo and hi are then partial).
TEXT ·minMaxAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ lo+16(FP), R8
	MOVQ hi+24(FP), R9
	VMOVDQU32 (R8), Z0
	VMOVDQU32 (R9), Z1
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z2
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z3
mmloop:
	TESTQ CX, CX
	JLE  mmdone
	MOVL $0xFFFF, DX
	CMPQ CX, $16
	JGE  mmfull
	MOVL $1, DX
	SHLL CX, DX
	DECL DX
mmfull:
	KMOVW DX, K1
	VMOVDQU32.Z (SI), K1, Z4
	VPANDD Z3, Z4, Z5
	VPCMPEQD Z3, Z5, K1, K2 // exponent all ones: Inf or NaN
	KORTESTW K2, K2
	JNZ  mmbad
	VPSRAD $31, Z4, Z5
	VPANDD Z2, Z5, Z5
	VPXORD Z5, Z4, Z4
	VPMINSD Z4, Z0, K1, Z0
	VPMAXSD Z4, Z1, K1, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  mmloop
mmdone:
	VMOVDQU32 Z0, (R8)
	VMOVDQU32 Z1, (R9)
	MOVQ $0, ret+32(FP)
	VZEROUPPER
	RET
mmbad:
	MOVQ $1, ret+32(FP)
	VZEROUPPER
	RET
