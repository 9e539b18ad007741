//go:build amd64 && !purego

#include "textflag.h"

// func requantAVX512(rows, n8, ld int, acc, bias *int32, mult, rs, half, neg *int64, clamp *[3]int64, dst *uint8)
//
// Per lane (int64): v = sext(acc + bias) (the int32 add wraps as Go's);
// h = (v*mult + 2^30) >> 31 is SaturatingRoundingDoublingHighMul (mult is
// never MinInt32, and gemmlowp's sign-dependent nudge with truncating
// division equals this floor form); RoundingDivideByPOT(h, rs) is
// (h + half + (h < 0 ? neg : 0)) >> rs with half = 2^(rs-1) and neg = -1
// for rs > 0 (both 0 for rs = 0): ties away from zero.
TEXT ·requantAVX512(SB), NOSPLIT, $0-88
	MOVQ rows+0(FP), R12
	MOVQ n8+8(FP), R13
	MOVQ ld+16(FP), R14
	MOVQ acc+24(FP), SI
	MOVQ dst+80(FP), DI
	MOVQ clamp+72(FP), AX
	VPBROADCASTQ 0(AX), Z20
	VPBROADCASTQ 8(AX), Z21
	VPBROADCASTQ 16(AX), Z22
	MOVQ $0x40000000, DX
	VPBROADCASTQ DX, Z23
	SHRQ $3, R13
	JZ   done
	TESTQ R12, R12
	JZ   done

row:
	MOVQ bias+32(FP), BX
	MOVQ mult+40(FP), R8
	MOVQ rs+48(FP), R9
	MOVQ half+56(FP), R10
	MOVQ neg+64(FP), R11
	MOVQ SI, DX
	MOVQ DI, AX
	MOVQ R13, CX

col:
	VMOVDQU   (DX), Y0
	VPADDD    (BX), Y0, Y0
	VPMOVSXDQ Y0, Z0
	VPMULDQ   (R8), Z0, Z0
	VPADDQ    Z23, Z0, Z0
	VPSRAQ    $31, Z0, Z0
	VPSRAQ    $63, Z0, Z1
	VPANDQ    (R11), Z1, Z1
	VPADDQ    (R10), Z0, Z0
	VPADDQ    Z1, Z0, Z0
	VMOVDQU64 (R9), Z2
	VPSRAVQ   Z2, Z0, Z0
	VPMAXSQ   Z20, Z0, Z0
	VPMINSQ   Z21, Z0, Z0
	VPADDQ    Z22, Z0, Z0
	VPMOVQB   Z0, X0
	MOVQ      X0, (AX)
	ADDQ $32, DX
	ADDQ $32, BX
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $8, AX
	DECQ CX
	JNZ  col

	LEAQ (SI)(R14*4), SI
	ADDQ R14, DI
	DECQ R12
	JNZ  row

done:
	VZEROUPPER
	RET

// func max4U8AVX2(dst, a, b, c, d *uint8, n int)
TEXT ·max4U8AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ c+24(FP), R9
	MOVQ d+32(FP), R10
	MOVQ n+40(FP), CX
	SHRQ $5, CX
	JZ   maxdone

maxloop:
	VMOVDQU (SI), Y0
	VMOVDQU (R9), Y1
	VPMAXUB (R8), Y0, Y0
	VPMAXUB (R10), Y1, Y1
	VPMAXUB Y1, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, DI
	DECQ    CX
	JNZ     maxloop

maxdone:
	VZEROUPPER
	RET

// func dwPixelAVX512(acc *int32, x *uint8, w *int32, rows, cols, ldx, ldw, c int, za int32)
//
// Sixteen channels at a time, their accumulators held in Z0 across all
// taps: zero-extend 16 input bytes to int32, subtract za, multiply by the
// 16 int32 weights, add.
TEXT ·dwPixelAVX512(SB), NOSPLIT, $0-68
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ ldx+40(FP), R10
	MOVQ ldw+48(FP), R11
	SHLQ $2, R11
	MOVQ c+56(FP), R12
	MOVQ R12, R13
	SHLQ $2, R13
	MOVL za+64(FP), AX
	VPBROADCASTD AX, Z31
	XORQ BX, BX

dwblock:
	CMPQ BX, R12
	JGE  dwdone
	VPXORD Z0, Z0, Z0
	LEAQ (SI)(BX*1), R14
	LEAQ (DX)(BX*4), R15
	MOVQ rows+24(FP), CX

dwrow:
	MOVQ R14, AX
	MOVQ R15, R8
	MOVQ cols+32(FP), R9

dwcol:
	VPMOVZXBD (AX), Z1
	VPSUBD    Z31, Z1, Z1
	VPMULLD   (R8), Z1, Z1
	VPADDD    Z1, Z0, Z0
	ADDQ      R12, AX
	ADDQ      R13, R8
	DECQ      R9
	JNZ       dwcol
	ADDQ      R10, R14
	ADDQ      R11, R15
	DECQ      CX
	JNZ       dwrow
	VMOVDQU32 Z0, (DI)(BX*4)
	ADDQ      $16, BX
	JMP       dwblock

dwdone:
	VZEROUPPER
	RET

// func maxPool2RowAVX2(dst, r0, r1 *uint8, ow, c int)
// One output row of a 2x2 stride-2 max pool over NHWC rows r0 and r1 (the
// two input rows), c a multiple of 32: for each output pixel, the VPMAXUB
// of the four input pixels' c bytes.
TEXT ·maxPool2RowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), R8
	MOVQ ow+24(FP), R9
	MOVQ c+32(FP), R10
	TESTQ R9, R9
	JZ   mp2done
	SHRQ $5, R10
	JZ   mp2done
	MOVQ c+32(FP), R11

mp2pix:
	MOVQ R10, CX
	XORQ AX, AX

mp2blk:
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU (R8)(AX*1), Y1
	LEAQ    (SI)(R11*1), DX
	VPMAXUB (DX)(AX*1), Y0, Y0
	LEAQ    (R8)(R11*1), DX
	VPMAXUB (DX)(AX*1), Y1, Y1
	VPMAXUB Y1, Y0, Y0
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     mp2blk
	LEAQ    (SI)(R11*2), SI
	LEAQ    (R8)(R11*2), R8
	ADDQ    R11, DI
	DECQ    R9
	JNZ     mp2pix

mp2done:
	VZEROUPPER
	RET
