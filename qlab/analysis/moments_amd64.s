//go:build amd64 && !purego

#include "textflag.h"

// func sumMinMaxAVX2(x *float32, n int) (sum float64, lo, hi float32)
TEXT ·sumMinMaxAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y6
	VMOVUPS Y6, Y7
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5

loop1:
	VMOVUPS (SI), Y0
	VMINPS Y0, Y6, Y6
	VMAXPS Y0, Y7, Y7
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VADDPD Y1, Y4, Y4
	VADDPD Y2, Y5, Y5
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ loop1

	// sum: (Y4 + Y5), then high 128 + low 128, then the two lanes.
	VADDPD Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD X5, X4, X4
	VHADDPD X4, X4, X4
	VMOVSD X4, sum+16(FP)

	// min over 8 lanes.
	VEXTRACTF128 $1, Y6, X0
	VMINPS X0, X6, X6
	VPERMILPS $0x4E, X6, X0
	VMINPS X0, X6, X6
	VPERMILPS $0xB1, X6, X0
	VMINPS X0, X6, X6
	VMOVSS X6, lo+24(FP)

	// max over 8 lanes.
	VEXTRACTF128 $1, Y7, X0
	VMAXPS X0, X7, X7
	VPERMILPS $0x4E, X7, X0
	VMAXPS X0, X7, X7
	VPERMILPS $0xB1, X7, X0
	VMAXPS X0, X7, X7
	VMOVSS X7, hi+28(FP)
	VZEROUPPER
	RET

// func centralSumsAVX2(x *float32, n int, mean float64) (m2, m3, m4 float64)
TEXT ·centralSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y3
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15

loop2:
	VMOVUPS (SI), Y0
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VSUBPD Y3, Y1, Y1
	VSUBPD Y3, Y2, Y2
	VMULPD Y1, Y1, Y8
	VMULPD Y2, Y2, Y9
	VADDPD Y8, Y10, Y10
	VADDPD Y9, Y13, Y13
	VMULPD Y8, Y1, Y1
	VMULPD Y9, Y2, Y2
	VADDPD Y1, Y11, Y11
	VADDPD Y2, Y14, Y14
	VMULPD Y8, Y8, Y8
	VMULPD Y9, Y9, Y9
	VADDPD Y8, Y12, Y12
	VADDPD Y9, Y15, Y15
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ loop2

	VADDPD Y13, Y10, Y10
	VEXTRACTF128 $1, Y10, X13
	VADDPD X13, X10, X10
	VHADDPD X10, X10, X10
	VMOVSD X10, m2+24(FP)

	VADDPD Y14, Y11, Y11
	VEXTRACTF128 $1, Y11, X14
	VADDPD X14, X11, X11
	VHADDPD X11, X11, X11
	VMOVSD X11, m3+32(FP)

	VADDPD Y15, Y12, Y12
	VEXTRACTF128 $1, Y12, X15
	VADDPD X15, X12, X12
	VHADDPD X12, X12, X12
	VMOVSD X12, m4+40(FP)
	VZEROUPPER
	RET

// func sumMinMaxKeysAVX512(x *float32, n int, keys *uint32) (sum float64, lo, hi float32, nk int)
//
// One pass over x[:n] (n a positive multiple of 16): the float64 sum (16
// lanes: two 8-wide accumulators, then a fixed reduction), the extremes,
// and the fine-histogram key (bits >> 16) of every value whose key is not
// 0, compressed into keys; nk is how many were written. Zero keys (+0 and
// the tiny positive values that share its bucket: ReLU outputs are half
// zeros) are left for the caller to count as n - nk, so the scalar
// counting loop never increments one bucket back to back and stalls on
// store-to-load forwarding. keys must have room for n+16 values: each
// block stores all 16 lanes and advances by the count kept.
TEXT ·sumMinMaxKeysAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ keys+16(FP), DI
	MOVQ DI, R8
	VMOVUPS (SI), Z6
	VMOVUPS Z6, Z7
	VXORPD Z4, Z4, Z4
	VXORPD Z5, Z5, Z5

loop3:
	VMOVUPS (SI), Z0
	VMINPS Z0, Z6, Z6
	VMAXPS Z0, Z7, Z7
	VCVTPS2PD Y0, Z1
	VEXTRACTF32X8 $1, Z0, Y2
	VCVTPS2PD Y2, Z2
	VADDPD Z1, Z4, Z4
	VADDPD Z2, Z5, Z5
	VPSRLD $16, Z0, Z3
	VPTESTMD Z3, Z3, K1
	VPCOMPRESSD Z3, K1, Z8
	VMOVDQU32 Z8, (DI)
	KMOVW K1, AX
	POPCNTL AX, AX
	LEAQ (DI)(AX*4), DI
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ loop3

	// sum: (Z4 + Z5), then high 256 + low 256, then as in the AVX2 kernel.
	VADDPD Z5, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
	VADDPD Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD X5, X4, X4
	VHADDPD X4, X4, X4
	VMOVSD X4, sum+24(FP)

	VEXTRACTF32X8 $1, Z6, Y0
	VMINPS Y0, Y6, Y6
	VEXTRACTF128 $1, Y6, X0
	VMINPS X0, X6, X6
	VPERMILPS $0x4E, X6, X0
	VMINPS X0, X6, X6
	VPERMILPS $0xB1, X6, X0
	VMINPS X0, X6, X6
	VMOVSS X6, lo+32(FP)

	VEXTRACTF32X8 $1, Z7, Y0
	VMAXPS Y0, Y7, Y7
	VEXTRACTF128 $1, Y7, X0
	VMAXPS X0, X7, X7
	VPERMILPS $0x4E, X7, X0
	VMAXPS X0, X7, X7
	VPERMILPS $0xB1, X7, X0
	VMAXPS X0, X7, X7
	VMOVSS X7, hi+36(FP)

	SUBQ R8, DI
	SHRQ $2, DI
	MOVQ DI, nk+40(FP)
	VZEROUPPER
	RET

// func centralSumsAVX512(x *float32, n int, mean float64) (m2, m3, m4 float64)
// n is a positive multiple of 16; the cubes and fourth powers are fused
// multiply-adds.
TEXT ·centralSumsAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Z3
	VXORPD Z10, Z10, Z10
	VXORPD Z11, Z11, Z11
	VXORPD Z12, Z12, Z12
	VXORPD Z13, Z13, Z13
	VXORPD Z14, Z14, Z14
	VXORPD Z15, Z15, Z15

loop4:
	VMOVUPS (SI), Z0
	VCVTPS2PD Y0, Z1
	VEXTRACTF32X8 $1, Z0, Y2
	VCVTPS2PD Y2, Z2
	VSUBPD Z3, Z1, Z1
	VSUBPD Z3, Z2, Z2
	VMULPD Z1, Z1, Z8
	VMULPD Z2, Z2, Z9
	VADDPD Z8, Z10, Z10
	VADDPD Z9, Z13, Z13
	VFMADD231PD Z8, Z1, Z11
	VFMADD231PD Z9, Z2, Z14
	VFMADD231PD Z8, Z8, Z12
	VFMADD231PD Z9, Z9, Z15
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ loop4

	VADDPD Z13, Z10, Z10
	VEXTRACTF64X4 $1, Z10, Y13
	VADDPD Y13, Y10, Y10
	VEXTRACTF128 $1, Y10, X13
	VADDPD X13, X10, X10
	VHADDPD X10, X10, X10
	VMOVSD X10, m2+24(FP)

	VADDPD Z14, Z11, Z11
	VEXTRACTF64X4 $1, Z11, Y14
	VADDPD Y14, Y11, Y11
	VEXTRACTF128 $1, Y11, X14
	VADDPD X14, X11, X11
	VHADDPD X11, X11, X11
	VMOVSD X11, m3+32(FP)

	VADDPD Z15, Z12, Z12
	VEXTRACTF64X4 $1, Z12, Y15
	VADDPD Y15, Y12, Y12
	VEXTRACTF128 $1, Y12, X15
	VADDPD X15, X12, X12
	VHADDPD X12, X12, X12
	VMOVSD X12, m4+40(FP)
	VZEROUPPER
	RET
