//go:build amd64 && !purego

#include "textflag.h"

// func interleave4(dst *int8, src *int8, ld int, n int)
// For columns c < n (n a multiple of 16) of the four rows src, src+ld,
// src+2*ld, src+3*ld, writes dst[4*c+t] = row t[c]: the k-quad layout of
// the int8 B panels. SSE2 only, so any amd64 can run it.
TEXT ·interleave4(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	MOVQ n+24(FP), CX
	LEAQ (DX)(DX*2), R8
	SHRQ $4, CX
	JZ done
loop:
	MOVOU (SI), X0
	MOVOU (SI)(DX*1), X1
	MOVOU (SI)(DX*2), X2
	MOVOU (SI)(R8*1), X3
	MOVO X0, X4
	PUNPCKLBW X1, X0 // rows 0,1 bytes interleaved, columns 0-7
	PUNPCKHBW X1, X4 // columns 8-15
	MOVO X2, X5
	PUNPCKLBW X3, X2 // rows 2,3, columns 0-7
	PUNPCKHBW X3, X5 // columns 8-15
	MOVO X0, X6
	PUNPCKLWL X2, X0 // columns 0-3, 4 rows each
	PUNPCKHWL X2, X6 // columns 4-7
	MOVO X4, X7
	PUNPCKLWL X5, X4 // columns 8-11
	PUNPCKHWL X5, X7 // columns 12-15
	MOVOU X0, (DI)
	MOVOU X6, 16(DI)
	MOVOU X4, 32(DI)
	MOVOU X7, 48(DI)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
done:
	RET
