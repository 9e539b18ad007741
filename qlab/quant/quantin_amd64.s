//go:build amd64 && !purego

#include "textflag.h"

// func quantC4AVX512(a *quantC4Args) int
//
// Quantizes one sample's C <= 4 channel planes of h x w float32 (NCHW)
// into pixels of 4 bytes (channel c in byte c, the rest 0) of an NHWC
// plane, 16 pixels at a time, exactly as quantizeValue / tfQuantizeValue
// do element by element (see quantC4Args). Returns 1, having written
// nothing after the vector that holds it, when the sample has a NaN.
//
// quantC4Args offsets: src 0, dst 8, h 16, w 24, c 32, plane 40, ldd 48,
// tf 56, inv 64, nmin 68, nmax 72, zpo 80, qmino 84, qmaxo 88.
TEXT ·quantC4AVX512(SB), NOSPLIT, $0-16
	MOVQ a+0(FP), R15
	VBROADCASTSS 64(R15), Z20 // inv
	VBROADCASTSS 68(R15), Z21 // nmin (tf) / -2^30 (torch)
	VBROADCASTSS 72(R15), Z22 // nmax (tf) / 2^30 (torch)
	VPBROADCASTD 80(R15), Z23 // zp + off (torch)
	VPBROADCASTD 84(R15), Z24 // qmin + off
	VPBROADCASTD 88(R15), Z25 // qmax + off (torch)
	MOVL $0x3f000000, AX       // 0.5
	VPBROADCASTD AX, Z26
	MOVQ 0(R15), SI            // src: row y of channel 0
	MOVQ 8(R15), DI            // dst: row y
	MOVQ 16(R15), R8           // rows left
	MOVQ 40(R15), R10
	SHLQ $2, R10               // bytes per channel plane
	MOVQ 32(R15), R11          // channels
	MOVQ 56(R15), R12          // tf?
	TESTQ R8, R8
	JZ   qdone

qrow:
	XORQ BX, BX                // pixel i
qvec:
	MOVQ 24(R15), CX
	SUBQ BX, CX                // pixels left in the row
	JLE  qrowend
	MOVL $0xFFFF, DX
	CMPQ CX, $16
	JGE  qfull
	MOVL $1, DX
	SHLL CX, DX
	DECL DX
qfull:
	KMOVW DX, K1
	VPXORD Z10, Z10, Z10
	LEAQ (SI)(BX*4), AX        // channel 0, pixel i
	XORQ CX, CX                // channel
qch:
	VMOVUPS.Z (AX), K1, Z0
	VCMPPS $3, Z0, Z0, K1, K2  // unordered: NaN
	KORTESTW K2, K2
	JNZ  qnan
	TESTQ R12, R12
	JNZ  qtf
	VMULPS Z20, Z0, Z0
	VMAXPS Z21, Z0, Z0
	VMINPS Z22, Z0, Z0
	VCVTPS2DQ Z0, Z1           // round half to even (MXCSR default)
	VPADDD Z23, Z1, Z1
	VPMAXSD Z24, Z1, Z1
	VPMINSD Z25, Z1, Z1
	JMP  qput
qtf:
	VMAXPS Z21, Z0, Z0
	VMINPS Z22, Z0, Z0
	VSUBPS Z21, Z0, Z0
	VMULPS Z20, Z0, Z0
	VADDPS Z26, Z0, Z0
	VCVTTPS2DQ Z0, Z1          // v >= 0.5: truncation is floor
	VPADDD Z24, Z1, Z1
qput:
	MOVQ CX, DX
	SHLQ $3, DX
	MOVQ DX, X2
	VPSLLD X2, Z1, Z1
	VPORD Z1, Z10, Z10
	ADDQ R10, AX
	INCQ CX
	CMPQ CX, R11
	JLT  qch
	VMOVDQU32 Z10, K1, (DI)(BX*4)
	ADDQ $16, BX
	JMP  qvec
qrowend:
	MOVQ 24(R15), CX
	LEAQ (SI)(CX*4), SI
	ADDQ 48(R15), DI
	DECQ R8
	JNZ  qrow
qdone:
	MOVQ $0, ret+8(FP)
	VZEROUPPER
	RET
qnan:
	MOVQ $1, ret+8(FP)
	VZEROUPPER
	RET
