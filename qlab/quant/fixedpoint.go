package quant

import (
	"fmt"
	"math"
)

// QuantizeMultiplier splits a real multiplier into a Q31 fixed-point
// mantissa and a power-of-two exponent, real ≈ mult * 2^(shift-31), exactly
// as TFLite's QuantizeMultiplier (quantization_util.cc): frexp gives
// q in [0.5, 1), mult = round_half_away(q * 2^31), a mantissa that rounds up
// to 2^31 is halved with shift+1, and multipliers below about 2^-31
// (shift < -31) flush to (0, 0). Negative multipliers give a negative mult.
// shift > 0 means a left shift.
func QuantizeMultiplier(real float64) (mult int32, shift int) {
	if real == 0 || math.IsNaN(real) || math.IsInf(real, 0) {
		return 0, 0
	}
	q, exp := math.Frexp(real)
	qFixed := int64(math.Round(q * (1 << 31)))
	if qFixed == 1<<31 { // -2^31 fits in int32 and TFLite keeps it

		qFixed /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0
	}
	return int32(qFixed), exp
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2*a*b,
// rounded, as gemmlowp's fixedpoint.h defines it: (a*b + nudge) / 2^31 with
// nudge 2^30 for a*b >= 0 and 1-2^30 otherwise and C's truncating division
// (so exact halves round towards +Inf), saturating the single overflowing
// case a = b = math.MinInt32 to math.MaxInt32.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - 1<<30
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT returns x / 2^exponent rounded to nearest with ties
// away from zero, as gemmlowp's RoundingDivideByPOT. exponent must be in
// [0, 31]; anything else is a programming error (gemmlowp asserts) and
// panics.
func RoundingDivideByPOT(x int32, exponent int) int32 {
	if exponent < 0 || exponent > 31 {
		panic(fmt.Sprintf("quant.RoundingDivideByPOT: exponent %d outside [0, 31]", exponent))
	}
	mask := int32(int64(1)<<exponent - 1)
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exponent
	if remainder > threshold {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier returns x * mult * 2^(shift-31) rounded, as
// TFLite's reference MultiplyByQuantizedMultiplier (common.h): a left shift
// by max(shift, 0) (wrapping on overflow like the int32 arithmetic TFLite
// relies on never happening), SaturatingRoundingDoublingHighMul by mult,
// then RoundingDivideByPOT by max(-shift, 0). shift must be in [-31, 30].
func MultiplyByQuantizedMultiplier(x, mult int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*int32(uint32(1)<<left), mult), right)
}

// requantize is MultiplyByQuantizedMultiplier for the integer kernels, with
// the left shift (multipliers >= 1) saturated instead of wrapped: where
// TFLite's int32 shift would overflow, the real result is beyond ±2^30 and
// the caller's clamp to the 8-bit range gives the same code either way.
func requantize(x, mult int32, shift int) int32 {
	if shift > 0 {
		v := int64(x) << shift
		if v > math.MaxInt32 || v < math.MinInt32 {
			if (v > 0) == (mult > 0) {
				return math.MaxInt32
			}
			return math.MinInt32
		}
	}
	return MultiplyByQuantizedMultiplier(x, mult, shift)
}
