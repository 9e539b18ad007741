//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// hasRequantAVX512 gates requantAVX512: 64-bit lane shifts, min/max and
// down-conversion (VPSRAQ, VPSRAVQ, VPMAXSQ, VPMOVQB) are AVX-512F.
var hasRequantAVX512 = cpu.X86.HasAVX512F

// requantAVX512 requantizes rows x n8 accumulators (row stride ld, n8 a
// multiple of 8) to bytes: dst[r*ld+o] = clamp(apply(acc[r*ld+o] + bias[o]))
// + zu, with the per-channel tables of rqTables and clamp = {lo, hi, zu}.
// It is requant.apply for shift <= 0, eight channels at a time in int64
// lanes, so nothing overflows.
//
//go:noescape
func requantAVX512(rows, n8, ld int, acc, bias *int32, mult, rs, half, neg *int64, clamp *[3]int64, dst *uint8)

// hasMaxU8AVX2 gates max4U8AVX2.
var hasMaxU8AVX2 = cpu.X86.HasAVX2

// max4U8AVX2 sets dst[i] = max(a[i], b[i], c[i], d[i]) for i < n, n a
// multiple of 32 (VPMAXUB); dst may be any of the inputs.
//
//go:noescape
func max4U8AVX2(dst, a, b, c, d *uint8, n int)

// dwPixelAVX512 sets acc[o] = Σ (x[tap][o] - za) · w[tap][o] over a rows x
// cols block of depthwise taps, o < c (a multiple of 16): tap (ky, kx) of
// x is at byte ky*ldx + kx*c, of w at element ky*ldw + kx*c. Sums wrap like
// Go's int32 arithmetic. rows and cols must be positive.
//
//go:noescape
func dwPixelAVX512(acc *int32, x *uint8, w *int32, rows, cols, ldx, ldw, c int, za int32)

// maxPool2RowAVX2 writes one output row of a 2x2 stride-2 max pool: for
// output pixels i < ow, dst[i*c+j] = max of r0 and r1 at pixels 2i and
// 2i+1, channel j (c a multiple of 32).
//
//go:noescape
func maxPool2RowAVX2(dst, r0, r1 *uint8, ow, c int)

// hasQuantC4AVX512 gates quantC4AVX512 (AVX-512F float compares, converts
// and masked stores).
var hasQuantC4AVX512 = cpu.X86.HasAVX512F

// quantC4AVX512 quantizes one sample for IntModel.quantizePadded when the
// padded plane has 4 bytes per pixel; it returns 1 (the sample then takes
// the portable loop, which reports the NaN) when the sample holds a NaN.
//
//go:noescape
func quantC4AVX512(a *quantC4Args) int

// hasFakeQuantAVX512 gates fakeQuantAVX512.
var hasFakeQuantAVX512 = cpu.X86.HasAVX512F

// fakeQuantAVX512 is QParams.fakeQuantRun's loop for one channel's params
// (fqArgs), 16 floats at a time; it returns 1 when x holds a NaN (the
// caller then runs the portable loop, which names it).
//
//go:noescape
func fakeQuantAVX512(y, x *float32, n int, a *fqArgs) int

// hasMinMaxAVX512 gates minMaxAVX512.
var hasMinMaxAVX512 = cpu.X86.HasAVX512F

// minMaxAVX512 folds x into 16-lane minimum and maximum keys (see
// batchMinMax); it returns 1 when x holds a NaN or an infinity.
//
//go:noescape
func minMaxAVX512(x *float32, n int, lo, hi *[16]int32) int
