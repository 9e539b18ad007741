//go:build !amd64 || purego

package quant

const hasRequantAVX512 = false

func requantAVX512(rows, n8, ld int, acc, bias *int32, mult, rs, half, neg *int64, clamp *[3]int64, dst *uint8) {
	panic("quant: requantAVX512 without AVX-512")
}
