package quant

import (
	"errors"
	"fmt"
	"math"
)

// Eps is the smallest scale qparams computation returns: float32 machine
// epsilon, PyTorch's observer default (torch.finfo(torch.float32).eps).
const Eps float32 = 1.1920928955078125e-07

// ErrRange is returned (wrapped) when a range cannot give qparams: NaN or
// Inf bounds, or min > max.
var ErrRange = errors.New("quant: bad range")

// QParams are the quantization parameters of one tensor: real value =
// (q - ZeroPoint) * Scale with q in [QMin, QMax]. Per-tensor params hold
// one Scale and ZeroPoint and Axis -1; per-channel params hold one per slice
// along Axis.
type QParams struct {
	Scale     []float32
	ZeroPoint []int32
	QMin      int32
	QMax      int32
	// Axis is the channel axis, or -1 for per-tensor params.
	Axis int
	// Nudged selects TensorFlow's fake-quant rounding (floor(v+0.5) on the
	// offset from the nudged minimum) instead of PyTorch's nearbyint.
	Nudged bool
}

// Channels returns the number of (scale, zero point) pairs.
func (q *QParams) Channels() int { return len(q.Scale) }

// PerTensor reports whether q has a single scale.
func (q *QParams) PerTensor() bool { return q.Axis < 0 }

// String summarises q.
func (q *QParams) String() string {
	if q.Axis < 0 && len(q.Scale) == 1 {
		return fmt.Sprintf("QParams{scale=%g zp=%d q=[%d,%d]}", q.Scale[0], q.ZeroPoint[0], q.QMin, q.QMax)
	}
	return fmt.Sprintf("QParams{axis=%d channels=%d q=[%d,%d]}", q.Axis, len(q.Scale), q.QMin, q.QMax)
}

// QParamsFromRange computes per-tensor params for the real range [lo, hi].
// It returns an error naming the range when a bound is NaN/Inf or lo > hi.
func (c TensorConfig) QParamsFromRange(lo, hi float32) (*QParams, error) {
	return c.QParamsFromRanges([]float32{lo}, []float32{hi}, -1)
}

// QParamsFromRanges computes params for per-channel ranges lo[i], hi[i]
// along axis (axis -1 and one range: per tensor).
//
// The computation is PyTorch 1.13's _calculate_qparams, in float32: the range
// is widened to include 0; symmetric: scale = max(-lo, hi) / ((qmax-qmin)/2),
// zero point 0 (signed) or (qmin+qmax+1)/2 (unsigned, 128 for uint8); affine:
// scale = (hi-lo)/(qmax-qmin), zero point = qmin - round_half_even(lo/scale)
// clamped to [qmin, qmax]; scale is at least Eps, so a zero range (all values
// equal to 0) gives scale Eps like PyTorch rather than an error.
// With Nudged the zero point is TensorFlow's nudged one (round half away from
// zero of qmin - lo/scale, clamped). PowerOfTwoScale rounds the scale up to
// a power of two before the zero point is computed.
func (c TensorConfig) QParamsFromRanges(lo, hi []float32, axis int) (*QParams, error) {
	if c.Float || c.Int32Bias {
		return nil, fmt.Errorf("%w: a Float or Int32Bias tensor config has no range-based qparams", ErrConfig)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(lo) != len(hi) || len(lo) == 0 {
		return nil, fmt.Errorf("%w: %d minima and %d maxima", ErrRange, len(lo), len(hi))
	}
	if axis < 0 && len(lo) != 1 {
		return nil, fmt.Errorf("%w: per-tensor params need one range, got %d", ErrRange, len(lo))
	}
	qmin, qmax := c.Range()
	q := &QParams{Scale: make([]float32, len(lo)), ZeroPoint: make([]int32, len(lo)), QMin: qmin, QMax: qmax, Axis: axis, Nudged: c.Nudged}
	for i := range lo {
		l, h := lo[i], hi[i]
		if !finite(l) || !finite(h) || l > h {
			if axis >= 0 {
				return nil, fmt.Errorf("%w: channel %d range [%v, %v]", ErrRange, i, l, h)
			}
			return nil, fmt.Errorf("%w: [%v, %v]", ErrRange, l, h)
		}
		q.Scale[i], q.ZeroPoint[i] = c.qparams(l, h, qmin, qmax)
	}
	return q, nil
}

// qparams is the scalar core of QParamsFromRanges. Every operation is a
// float32 operation, as in PyTorch's tensor arithmetic; explicit float32
// conversions keep the compiler from fusing multiply-adds.
func (c TensorConfig) qparams(lo, hi float32, qmin, qmax int32) (float32, int32) {
	lo, hi = min(lo, 0), max(hi, 0)
	var scale float32
	if c.Symmetric {
		m := max(-lo, hi)
		scale = m / float32(float64(qmax-qmin)/2)
	} else {
		scale = float32(hi-lo) / float32(qmax-qmin)
	}
	scale = max(scale, Eps)
	if c.PowerOfTwoScale {
		scale = pow2Ceil(scale)
	}
	if c.Symmetric {
		if c.Signed {
			return scale, 0
		}
		return scale, (qmin + qmax + 1) / 2
	}
	if c.Nudged {
		zf := float32(qmin) - float32(lo/scale)
		switch {
		case zf < float32(qmin):
			return scale, qmin
		case zf > float32(qmax):
			return scale, qmax
		}
		return scale, int32(math.Round(float64(zf)))
	}
	r := math.RoundToEven(float64(lo / scale))
	zp := float64(qmin) - r
	zp = min(max(zp, float64(qmin)), float64(qmax))
	return scale, int32(zp)
}

// pow2Ceil returns the smallest power of two >= s (s > 0, finite).
func pow2Ceil(s float32) float32 {
	frac, exp := math.Frexp(float64(s))
	if frac == 0.5 {
		return s
	}
	return float32(math.Ldexp(1, exp))
}

func finite(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// BiasQParams returns the int32 bias params TFLite uses: zero point 0 and
// scale = input scale x weight scale for each output channel (weight params
// per channel along axis 0, or per tensor).
func BiasQParams(input, weight *QParams) (*QParams, error) {
	if input == nil || weight == nil || len(input.Scale) != 1 {
		return nil, fmt.Errorf("%w: bias qparams need per-tensor input params and weight params", ErrRange)
	}
	if !weight.PerTensor() && weight.Axis != 0 {
		return nil, fmt.Errorf("%w: bias qparams need weights per channel along axis 0, got axis %d", ErrRange, weight.Axis)
	}
	q := &QParams{Scale: make([]float32, len(weight.Scale)), ZeroPoint: make([]int32, len(weight.Scale)), QMin: math.MinInt32, QMax: math.MaxInt32, Axis: weight.Axis}
	for i, s := range weight.Scale {
		// TFLite computes the product in double and stores it as float.
		q.Scale[i] = float32(float64(input.Scale[0]) * float64(s))
	}
	return q, nil
}
