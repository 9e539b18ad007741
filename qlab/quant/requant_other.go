//go:build !amd64 || purego

package quant

const hasRequantAVX512 = false

func requantAVX512(rows, n8, ld int, acc, bias *int32, mult, rs, half, neg *int64, clamp *[3]int64, dst *uint8) {
	panic("quant: requantAVX512 without AVX-512")
}

const hasMaxU8AVX2 = false

func max4U8AVX2(dst, a, b, c, d *uint8, n int) {
	panic("quant: max4U8AVX2 without AVX2")
}

func dwPixelAVX512(acc *int32, x *uint8, w *int32, rows, cols, ldx, ldw, c int, za int32) {
	panic("quant: dwPixelAVX512 without AVX-512")
}

func maxPool2RowAVX2(dst, r0, r1 *uint8, ow, c int) {
	panic("quant: maxPool2RowAVX2 without AVX2")
}

const hasQuantC4AVX512 = false

func quantC4AVX512(a *quantC4Args) int {
	panic("quant: quantC4AVX512 without AVX-512")
}

const hasFakeQuantAVX512 = false

func fakeQuantAVX512(y, x *float32, n int, a *fqArgs) int {
	panic("quant: fakeQuantAVX512 without AVX-512")
}

const hasMinMaxAVX512 = false

func minMaxAVX512(x *float32, n int, lo, hi *[16]int32) int {
	panic("quant: minMaxAVX512 without AVX-512")
}
