package quant

import (
	"errors"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/internal/gemm"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// ErrNaN is returned (wrapped) when a tensor to quantize or observe holds a
// NaN (or, for calibrators, an Inf).
var ErrNaN = errors.New("quant: non-finite value")

// QTensor is a quantized tensor: integer codes (stored widened to int32
// whatever the bit width) with the params that map them back to reals.
type QTensor struct {
	Shape  []int
	Data   []int32
	Params *QParams
}

// check verifies that q can be applied to a tensor of the given shape and
// returns the stride between channels (the product of the extents after the
// axis) and the channel count.
func (q *QParams) check(shape []int) (inner, channels int, err error) {
	if q == nil || len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
		return 0, 0, fmt.Errorf("%w: empty or inconsistent qparams", ErrRange)
	}
	if q.QMin > q.QMax {
		return 0, 0, fmt.Errorf("%w: qmin %d > qmax %d", ErrRange, q.QMin, q.QMax)
	}
	for i, s := range q.Scale {
		if !(s > 0) || !finite(s) {
			return 0, 0, fmt.Errorf("%w: scale[%d] = %v is not a positive finite number", ErrRange, i, s)
		}
	}
	if q.Axis < 0 {
		if len(q.Scale) != 1 {
			return 0, 0, fmt.Errorf("%w: per-tensor qparams with %d scales", ErrRange, len(q.Scale))
		}
		return 1, 1, nil
	}
	if q.Axis >= len(shape) {
		return 0, 0, fmt.Errorf("%w: channel axis %d for shape %v", tensor.ErrShape, q.Axis, shape)
	}
	if shape[q.Axis] != len(q.Scale) {
		return 0, 0, fmt.Errorf("%w: shape %v has %d channels on axis %d, qparams have %d", tensor.ErrShape, shape, shape[q.Axis], q.Axis, len(q.Scale))
	}
	inner = 1
	for _, d := range shape[q.Axis+1:] {
		inner *= d
	}
	return inner, len(q.Scale), nil
}

// quantizeValue returns the integer code of x, with PyTorch's arithmetic:
// clamp(zp + nearbyint(x * inv), qmin, qmax) where inv = 1/scale in float32.
// PyTorch's kernel casts the sum to int64 before clamping, so values beyond
// ±2^63 in scale units (and ±Inf) wrap to qmin there; here they saturate.
func quantizeValue(x, inv float32, zp, qmin, qmax int32) int32 {
	v := float32(x * inv)
	r := math.RoundToEven(float64(v)) + float64(zp)
	r = min(max(r, float64(qmin)), float64(qmax))
	return int32(r)
}

// tfNudged returns TensorFlow's nudged min and max for params (scale, zp).
func tfNudged(scale float32, zp, qmin, qmax int32) (nmin, nmax float32) {
	return float32(float32(qmin)-float32(zp)) * scale, float32(float32(qmax)-float32(zp)) * scale
}

// tfQuantizeValue returns the code TensorFlow's fake quant implies:
// floor((clamp(x) - nudged_min) * inv + 0.5) + qmin, all in float32.
func tfQuantizeValue(x, inv, nmin, nmax float32, qmin int32) int32 {
	c := min(max(x, nmin), nmax)
	s := float32(c - nmin)
	v := float32(float32(s*inv) + 0.5)
	// v >= 0.5, so truncation is floor.
	return int32(v) + qmin
}

// FakeQuant writes quantize-then-dequantize of src into dst (dst may be
// src; it is resized to src's shape). Results match PyTorch's
// fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine bit
// for bit (or TensorFlow's fake_quant_with_min_max_vars when q.Nudged).
// A NaN in src is an error naming its index.
func (q *QParams) FakeQuant(dst, src *tensor.Tensor) error {
	inner, channels, err := q.check(src.Shape)
	if err != nil {
		return err
	}
	if dst != src {
		dst.Resize(src.Shape...)
	}
	x, y := src.Data, dst.Data
	// span fake-quantizes [lo, hi), split at channel boundaries; on error
	// it returns the failing element's index.
	span := func(lo, hi int) (int, error) {
		for i := lo; i < hi; {
			c, end := 0, hi
			if channels > 1 {
				c = (i / inner) % channels
				end = min(hi, (i/inner+1)*inner)
			}
			if k, err := q.fakeQuantRun(y[i:end], x[i:end], c); err != nil {
				return i + k, err
			}
			i = end
		}
		return 0, nil
	}
	// Elementwise work in fixed chunks: the result does not depend on the
	// number of goroutines.
	const grain = 1 << 15
	if len(x) <= grain {
		if k, err := span(0, len(x)); err != nil {
			return fmt.Errorf("%w at element %d", err, k)
		}
		return nil
	}
	chunks := (len(x) + grain - 1) / grain
	bad, errs := make([]int, chunks), make([]error, chunks)
	gemm.ParallelFor(len(x), grain, func(lo, hi int) {
		bad[lo/grain], errs[lo/grain] = span(lo, hi)
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%w at element %d", err, bad[i])
		}
	}
	return nil
}

// FakeQuantSlice fake-quantizes a flat slice in place with per-tensor q.
func (q *QParams) FakeQuantSlice(x []float32) error {
	if _, _, err := q.check(nil); err != nil {
		return err
	}
	if k, err := q.fakeQuantRun(x, x, 0); err != nil {
		return fmt.Errorf("%w at element %d", err, k)
	}
	return nil
}

// fqArgs is the argument block of fakeQuantAVX512 (offsets in its
// comment): the float32 operations of fakeQuantRun's TensorFlow loop (tf 1;
// lo, hi the nudged min and max) or of its fast PyTorch loop (tf 0; lo, hi
// = qmin-zp, qmax-zp), in the same order, so the results are the same bits.
type fqArgs struct {
	tf                        int
	inv, scale, lo, hi, magic float32
	_                         float32
}

// fakeQuantKernel selects fakeQuantAVX512 where the CPU has it (tests
// turn it off for the reference loops).
var fakeQuantKernel = hasFakeQuantAVX512

// fakeQuantRun fake-quantizes x into y with channel c's params; on error
// it returns the index of the offending element.
func (q *QParams) fakeQuantRun(y, x []float32, c int) (int, error) {
	scale, zp := q.Scale[c], q.ZeroPoint[c]
	inv := 1 / scale
	if fakeQuantKernel && len(x) > 0 && (q.Nudged || q.QMax-q.QMin <= 1<<22) {
		_ = y[len(x)-1]
		a := fqArgs{inv: inv, scale: scale, lo: float32(q.QMin - zp), hi: float32(q.QMax - zp), magic: 1.5 * (1 << 23)}
		if q.Nudged {
			a.tf = 1
			a.lo, a.hi = tfNudged(scale, zp, q.QMin, q.QMax)
		}
		if fakeQuantAVX512(&y[0], &x[0], len(x), &a) == 0 {
			return 0, nil
		}
		// A NaN: the loops below find it.
	}
	if q.Nudged {
		nmin, nmax := tfNudged(scale, zp, q.QMin, q.QMax)
		for i, v := range x {
			if v != v {
				return i, fmt.Errorf("%w: NaN", ErrNaN)
			}
			k := tfQuantizeValue(v, inv, nmin, nmax, q.QMin) - q.QMin
			y[i] = float32(float32(k)*scale) + nmin
		}
		return 0, nil
	}
	lo, hi := float32(q.QMin-zp), float32(q.QMax-zp)
	if q.QMax-q.QMin > 1<<22 {
		for i, v := range x {
			if v != v {
				return i, fmt.Errorf("%w: NaN", ErrNaN)
			}
			k := quantizeValue(v, inv, zp, q.QMin, q.QMax)
			y[i] = float32(k-zp) * scale
		}
		return 0, nil
	}
	// Fast path, equal to quantizeValue: clamping to the integer bounds
	// before rounding commutes with rounding (the bounds are integers and
	// rounding is monotonic), and once |v| <= 2^22 adding and subtracting
	// 1.5·2^23 in float32 rounds to the nearest integer, ties to even,
	// exactly like nearbyint.
	const magic = 1.5 * (1 << 23)
	for i, v := range x {
		if v != v {
			return i, fmt.Errorf("%w: NaN", ErrNaN)
		}
		r := float32(v * inv)
		if r < lo {
			r = lo
		} else if r > hi {
			r = hi
		}
		r = float32(r+magic) - magic
		y[i] = r * scale
	}
	return 0, nil
}

// Quantize returns the integer codes of src under q (PyTorch's
// quantize_per_tensor / quantize_per_channel arithmetic, or TensorFlow's
// when q.Nudged). A NaN is an error naming its index.
func (q *QParams) Quantize(src *tensor.Tensor) (*QTensor, error) {
	inner, channels, err := q.check(src.Shape)
	if err != nil {
		return nil, err
	}
	out := &QTensor{Shape: append([]int(nil), src.Shape...), Data: make([]int32, len(src.Data)), Params: q}
	for i, v := range src.Data {
		if v != v {
			return nil, fmt.Errorf("%w: NaN at element %d", ErrNaN, i)
		}
		c := 0
		if channels > 1 {
			c = (i / inner) % channels
		}
		scale, zp := q.Scale[c], q.ZeroPoint[c]
		inv := 1 / scale
		if q.Nudged {
			nmin, nmax := tfNudged(scale, zp, q.QMin, q.QMax)
			out.Data[i] = tfQuantizeValue(v, inv, nmin, nmax, q.QMin)
		} else {
			out.Data[i] = quantizeValue(v, inv, zp, q.QMin, q.QMax)
		}
	}
	return out, nil
}

// Dequantize returns (code - zero point) * scale for every element of t.
// For Nudged params this equals FakeQuant's output to within one float32
// rounding (TensorFlow adds the nudged minimum instead of subtracting the
// zero point).
func (t *QTensor) Dequantize() (*tensor.Tensor, error) {
	q := t.Params
	inner, channels, err := q.check(t.Shape)
	if err != nil {
		return nil, err
	}
	if tensor.Size(t.Shape) != len(t.Data) {
		return nil, fmt.Errorf("%w: shape %v holds %d elements, data has %d", tensor.ErrShape, t.Shape, tensor.Size(t.Shape), len(t.Data))
	}
	out := tensor.New(t.Shape...)
	for i, k := range t.Data {
		c := 0
		if channels > 1 {
			c = (i / inner) % channels
		}
		out.Data[i] = float32(k-q.ZeroPoint[c]) * q.Scale[c]
	}
	return out, nil
}

// FakeQuantGrad writes into dx (resized to dy's shape) the gradient of the
// loss with respect to FakeQuant's input x, given dy, the gradient with
// respect to its output: the clipped straight-through estimator of
// PyTorch's fake_quantize_per_tensor_affine / per_channel_affine backward.
// dy passes where the element's code before clamping,
// zero_point + nearbyint(x / scale), lies in [QMin, QMax] and is zeroed
// elsewhere; with Nudged it passes where x lies within TensorFlow's nudged
// [min, max] (fake_quant_with_min_max_vars_gradient). x and dy must have
// the same shape; dx may be dy. A NaN in x is an error naming its index.
func (q *QParams) FakeQuantGrad(dx, x, dy *tensor.Tensor) error {
	inner, channels, err := q.check(x.Shape)
	if err != nil {
		return err
	}
	if !tensor.SameShape(x.Shape, dy.Shape) || len(x.Data) != len(dy.Data) {
		return fmt.Errorf("%w: gradient shape %v for input shape %v", tensor.ErrShape, dy.Shape, x.Shape)
	}
	if dx != dy {
		dx.Resize(dy.Shape...)
	}
	for i, v := range x.Data {
		if v != v {
			return fmt.Errorf("%w: NaN at element %d", ErrNaN, i)
		}
		c := 0
		if channels > 1 {
			c = (i / inner) % channels
		}
		if q.inRange(v, c) {
			dx.Data[i] = dy.Data[i]
		} else {
			dx.Data[i] = 0
		}
	}
	return nil
}

// inRange reports whether x lies within channel c's quantization range, the
// condition under which FakeQuantGrad passes the gradient.
func (q *QParams) inRange(x float32, c int) bool {
	scale, zp := q.Scale[c], q.ZeroPoint[c]
	if q.Nudged {
		nmin, nmax := tfNudged(scale, zp, q.QMin, q.QMax)
		return x >= nmin && x <= nmax
	}
	inv := 1 / scale
	r := math.RoundToEven(float64(float32(x*inv))) + float64(zp)
	return r >= float64(q.QMin) && r <= float64(q.QMax)
}
