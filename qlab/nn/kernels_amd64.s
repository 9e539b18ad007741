//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels for the BatchNorm and activation passes. Each handles
// n elements, n a multiple of 8 and n >= 8; the Go wrappers in
// kernels_amd64.go do the tail. Reductions keep fixed lanes (combined in a
// fixed order), so results do not depend on the caller's threading.

// func sumsAVX2(x *float32, n int, shift float32) (s, ss float64)
// s = Σ (x-shift), ss = Σ (x-shift)², accumulated in float64.
TEXT ·sumsAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y15
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
loop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VADDPD Y1, Y8, Y8
	VADDPD Y2, Y9, Y9
	VFMADD231PD Y1, Y1, Y10
	VFMADD231PD Y2, Y2, Y11
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ loop
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD X0, X8, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	MOVSD X0, s+24(FP)
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X0
	VADDPD X0, X10, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	MOVSD X0, ss+32(FP)
	VZEROUPPER
	RET

// func affineAVX2(y, x *float32, n int, scale, shift float32)
// y = x*scale + shift (fused multiply-add).
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS shift+28(FP), Y15
loop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// func affineClampAVX2(y, z, x *float32, n int, scale, shift, hi float32)
// y = x*scale + shift (not stored when y is nil); z = max(min(y, hi), 0),
// a NaN in y giving NaN in z.
TEXT ·affineClampAVX2(SB), NOSPLIT, $0-44
	MOVQ y+0(FP), DI
	MOVQ z+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Y14
	VBROADCASTSS shift+36(FP), Y15
	VBROADCASTSS hi+40(FP), Y13
	VXORPS Y12, Y12, Y12
loop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	TESTQ DI, DI
	JZ noy
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
noy:
	// MINPS/MAXPS return their second source when either is NaN: keep y
	// (then t) there so NaNs propagate. Go syntax lists sources reversed.
	VMINPS Y0, Y13, Y1
	VMAXPS Y1, Y12, Y1
	VADDPS Y12, Y1, Y1 // -0 + 0 = +0, as Go's max(-0, 0)
	VMOVUPS Y1, (DX)
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// func clampAVX2(z, x *float32, n int, hi float32)
// z = max(min(x, hi), 0), NaN-propagating as affineClampAVX2.
TEXT ·clampAVX2(SB), NOSPLIT, $0-28
	MOVQ z+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS hi+24(FP), Y13
	VXORPS Y12, Y12, Y12
loop:
	VMOVUPS (SI), Y0
	VMINPS Y0, Y13, Y1
	VMAXPS Y1, Y12, Y1
	VADDPS Y12, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// func dotDevAVX2(d, x, mask *float32, n int, m float32, limit uint32) (s, sx float64)
// With g = d, or d where bits(mask)-1 < limit (unsigned) and 0 elsewhere
// when mask is not nil: s = Σ g, sx = Σ g*(x-m), in float64.
TEXT ·dotDevAVX2(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), SI
	MOVQ x+8(FP), BX
	MOVQ mask+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS m+32(FP), Y15
	// Unsigned a < L is signed (a^MIN) < (L^MIN).
	MOVL limit+36(FP), AX
	XORL $0x80000000, AX
	MOVL AX, X0
	VPBROADCASTD X0, Y14
	MOVL $0x80000000, AX
	MOVL AX, X0
	VPBROADCASTD X0, Y13
	VPCMPEQD Y12, Y12, Y12 // all ones = -1 per lane
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
loop:
	VMOVUPS (SI), Y0
	TESTQ DX, DX
	JZ nomask
	VMOVDQU (DX), Y1
	VPADDD Y12, Y1, Y1
	VPXOR Y13, Y1, Y1
	VPCMPGTD Y1, Y14, Y1
	VANDPS Y1, Y0, Y0
	ADDQ $32, DX
nomask:
	VMOVUPS (BX), Y3
	VSUBPS Y15, Y3, Y3
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VCVTPS2PD X3, Y4
	VEXTRACTF128 $1, Y3, X5
	VCVTPS2PD X5, Y5
	VADDPD Y1, Y8, Y8
	VADDPD Y2, Y9, Y9
	VFMADD231PD Y4, Y1, Y10
	VFMADD231PD Y5, Y2, Y11
	ADDQ $32, SI
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ loop
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD X0, X8, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	MOVSD X0, s+40(FP)
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X0
	VADDPD X0, X10, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	MOVSD X0, sx+48(FP)
	VZEROUPPER
	RET

// func backApplyAVX2(dx, d, x, mask *float32, n int, k, a, b float32, limit uint32)
// dx = k*g + (a*x + b), g as in dotDevAVX2.
TEXT ·backApplyAVX2(SB), NOSPLIT, $0-56
	MOVQ dx+0(FP), DI
	MOVQ d+8(FP), SI
	MOVQ x+16(FP), BX
	MOVQ mask+24(FP), DX
	MOVQ n+32(FP), CX
	VBROADCASTSS k+40(FP), Y10
	VBROADCASTSS a+44(FP), Y11
	VBROADCASTSS b+48(FP), Y15
	MOVL limit+52(FP), AX
	XORL $0x80000000, AX
	MOVL AX, X0
	VPBROADCASTD X0, Y14
	MOVL $0x80000000, AX
	MOVL AX, X0
	VPBROADCASTD X0, Y13
	VPCMPEQD Y12, Y12, Y12
loop:
	VMOVUPS (SI), Y0
	TESTQ DX, DX
	JZ nomask
	VMOVDQU (DX), Y1
	VPADDD Y12, Y1, Y1
	VPXOR Y13, Y1, Y1
	VPCMPGTD Y1, Y14, Y1
	VANDPS Y1, Y0, Y0
	ADDQ $32, DX
nomask:
	VMOVUPS (BX), Y3
	VFMADD213PS Y15, Y11, Y3 // a*x + b
	VFMADD231PS Y10, Y0, Y3  // + k*g
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// Lane masks for VMASKMOVPS: all lanes but the first, all but the last.
DATA maskNotFirst<>+0(SB)/4, $0
DATA maskNotFirst<>+4(SB)/4, $0xffffffff
DATA maskNotFirst<>+8(SB)/4, $0xffffffff
DATA maskNotFirst<>+12(SB)/4, $0xffffffff
DATA maskNotFirst<>+16(SB)/4, $0xffffffff
DATA maskNotFirst<>+20(SB)/4, $0xffffffff
DATA maskNotFirst<>+24(SB)/4, $0xffffffff
DATA maskNotFirst<>+28(SB)/4, $0xffffffff
GLOBL maskNotFirst<>(SB), RODATA|NOPTR, $32
DATA maskNotLast<>+0(SB)/4, $0xffffffff
DATA maskNotLast<>+4(SB)/4, $0xffffffff
DATA maskNotLast<>+8(SB)/4, $0xffffffff
DATA maskNotLast<>+12(SB)/4, $0xffffffff
DATA maskNotLast<>+16(SB)/4, $0xffffffff
DATA maskNotLast<>+20(SB)/4, $0xffffffff
DATA maskNotLast<>+24(SB)/4, $0xffffffff
DATA maskNotLast<>+28(SB)/4, $0
GLOBL maskNotLast<>(SB), RODATA|NOPTR, $32

// Three taps of one input row for the output block at (DI): loads at
// offsets -1, 0, +1 floats, the first block masking off s[-1] and the last
// masking off s[w], and accumulates them with weights wl, wc, wr into Y0.
#define ROW3(base, wl, wc, wr) \
	CMPQ BX, $0; \
	JNE 3(PC); \
	VMASKMOVPS -4(base)(BX*4), Y14, Y1; \
	JMP 2(PC); \
	VMOVUPS -4(base)(BX*4), Y1; \
	VMOVUPS (base)(BX*4), Y2; \
	CMPQ BX, R12; \
	JNE 3(PC); \
	VMASKMOVPS 4(base)(BX*4), Y15, Y3; \
	JMP 2(PC); \
	VMOVUPS 4(base)(BX*4), Y3; \
	VFMADD231PS wl, Y1, Y0; \
	VFMADD231PS wc, Y2, Y0; \
	VFMADD231PS wr, Y3, Y0

// func conv3x3RowAVX2(out, r0, r1, r2 *float32, w int, wt *float32, bias float32, acc int)
// out[j] (+)= bias + Σ_ky Σ_kx wt[3ky+kx] * r_ky[j+kx-1], zero outside
// [0, w); w a positive multiple of 8; with acc != 0 out's old value
// replaces bias.
TEXT ·conv3x3RowAVX2(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), R8
	MOVQ r2+24(FP), R9
	MOVQ w+32(FP), CX
	MOVQ wt+40(FP), AX
	VBROADCASTSS bias+48(FP), Y13
	MOVQ acc+56(FP), DX
	VBROADCASTSS 0(AX), Y4
	VBROADCASTSS 4(AX), Y5
	VBROADCASTSS 8(AX), Y6
	VBROADCASTSS 12(AX), Y7
	VBROADCASTSS 16(AX), Y8
	VBROADCASTSS 20(AX), Y9
	VBROADCASTSS 24(AX), Y10
	VBROADCASTSS 28(AX), Y11
	VBROADCASTSS 32(AX), Y12
	VMOVDQU maskNotFirst<>(SB), Y14
	VMOVDQU maskNotLast<>(SB), Y15
	MOVQ CX, R12
	SUBQ $8, R12 // index of the last block
	XORQ BX, BX  // element index of the block
loop:
	VMOVAPS Y13, Y0
	TESTQ DX, DX
	JZ 2(PC)
	VMOVUPS (DI)(BX*4), Y0
	ROW3(SI, Y4, Y5, Y6)
	ROW3(R8, Y7, Y8, Y9)
	ROW3(R9, Y10, Y11, Y12)
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	CMPQ BX, CX
	JLT loop
	VZEROUPPER
	RET

// func grad3RowAVX2(acc, d, r *float32, w int)
// acc holds three 8-lane accumulators (kx = 0, 1, 2); adds lane-wise
// d[j]*r[j+kx-1] over j in [0, w), zero outside the row; w a positive
// multiple of 8.
TEXT ·grad3RowAVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), AX
	MOVQ d+8(FP), DI
	MOVQ r+16(FP), SI
	MOVQ w+24(FP), CX
	VMOVUPS 0(AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS 64(AX), Y6
	VMOVDQU maskNotFirst<>(SB), Y14
	VMOVDQU maskNotLast<>(SB), Y15
	MOVQ CX, R12
	SUBQ $8, R12
	XORQ BX, BX
loop:
	VMOVUPS (DI)(BX*4), Y0
	CMPQ BX, $0
	JNE 3(PC)
	VMASKMOVPS -4(SI)(BX*4), Y14, Y1
	JMP 2(PC)
	VMOVUPS -4(SI)(BX*4), Y1
	VMOVUPS (SI)(BX*4), Y2
	CMPQ BX, R12
	JNE 3(PC)
	VMASKMOVPS 4(SI)(BX*4), Y15, Y3
	JMP 2(PC)
	VMOVUPS 4(SI)(BX*4), Y3
	VFMADD231PS Y1, Y0, Y4
	VFMADD231PS Y2, Y0, Y5
	VFMADD231PS Y3, Y0, Y6
	ADDQ $8, BX
	CMPQ BX, CX
	JLT loop
	VMOVUPS Y4, 0(AX)
	VMOVUPS Y5, 32(AX)
	VMOVUPS Y6, 64(AX)
	VZEROUPPER
	RET

// func im2col3RowsAVX2(d0, d1, d2, s *float32, w, rows int)
// For rows consecutive input rows of s of w floats each (w a positive
// multiple of 8), writes the three im2col rows of a 3x3, stride-1,
// padding-1 convolution to the same rows of d0, d1 and d2:
// d0[j] = s[j-1], d1[j] = s[j], d2[j] = s[j+1] within a row, zero outside
// it. The masked loads never touch the pixel before or after a row.
TEXT ·im2col3RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ d0+0(FP), DI
	MOVQ d1+8(FP), R8
	MOVQ d2+16(FP), R9
	MOVQ s+24(FP), SI
	MOVQ rows+40(FP), DX
	VMOVDQU maskNotFirst<>(SB), Y14
	VMOVDQU maskNotLast<>(SB), Y15
	TESTQ DX, DX
	JZ rdone
rrow:
	MOVQ w+32(FP), CX
	VMASKMOVPS -4(SI), Y14, Y0
	JMP rfirst
rloop:
	VMOVUPS -4(SI), Y0
rfirst:
	VMOVUPS (SI), Y1
	CMPQ CX, $8
	JEQ rlast
	VMOVUPS 4(SI), Y2
	JMP rstore
rlast:
	VMASKMOVPS 4(SI), Y15, Y2
rstore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (R8)
	VMOVUPS Y2, (R9)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNZ rloop
	DECQ DX
	JNZ rrow
rdone:
	VZEROUPPER
	RET

// gomax(a, b) into dst, as Go's max on float32: VMAXPS, except that equal
// operands (±0 included) give a AND b (+0 for a pair of signed zeros) and
// an unordered pair gives a + b (a NaN). T1, T2 are scratch.
#define GOMAX(a, b, dst, T1, T2) \
	VMAXPS b, a, dst; \
	VCMPPS $0, b, a, T1; \
	VANDPS b, a, T2; \
	VBLENDVPS T1, T2, dst, dst; \
	VCMPPS $3, b, a, T1; \
	VADDPS b, a, T2; \
	VBLENDVPS T1, T2, dst, dst

// func maxPool2RowAVX2(dst, r0, r1 *float32, n int)
// dst[i] = max(r0[2i], r0[2i+1], r1[2i], r1[2i+1]) for i < n (a multiple
// of 8), each max Go's (NaN wins; +0 above -0).
TEXT ·maxPool2RowAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JZ   mpdone
mploop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (DX), Y2
	VMOVUPS 32(DX), Y3
	GOMAX(Y0, Y2, Y4, Y8, Y9)
	GOMAX(Y1, Y3, Y5, Y8, Y9)
	VSHUFPS $0x88, Y5, Y4, Y6 // even pixels
	VSHUFPS $0xDD, Y5, Y4, Y7 // odd pixels
	GOMAX(Y6, Y7, Y10, Y8, Y9)
	VPERMPD $0xD8, Y10, Y10
	VMOVUPS Y10, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  mploop
mpdone:
	VZEROUPPER
	RET
