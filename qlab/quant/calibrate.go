package quant

import (
	"errors"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// ErrNoData is returned (wrapped) when a range is asked of a calibrator that
// has observed nothing.
var ErrNoData = errors.New("quant: no data observed")

// Calibrator is a streaming, memory-bounded range estimator (PyTorch calls
// them observers): feed it batch after batch, then ask for the range.
//
// Observe returns an error wrapping ErrNaN, naming the calibrator, when a
// batch holds NaN or Inf (the batch is then ignored). Range returns an error
// wrapping ErrNoData when nothing was observed. A range where every value
// was 0 is valid: qparams then get the minimum scale Eps, as in PyTorch.
type Calibrator interface {
	Observe(x []float32) error
	Range() (lo, hi float32, err error)
	Reset()
}

// NewCalibrator returns the per-tensor calibrator c.Calibrator selects, for
// a tensor quantized with c (MSE, Entropy and TorchHistogram need the
// integer range). name is used in error messages.
func NewCalibrator(name string, c TensorConfig) (Calibrator, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("quant: calibrator %q: %w", name, err)
	}
	cal := c.Calibrator
	switch cal.Method {
	case MinMax:
		return NewMinMax(name), nil
	case MovingAverageMinMax:
		return NewMovingAverage(name, cal.AveragingConstant), nil
	case Percentile, MSE, Entropy:
		return NewHistogramCalibrator(name, c), nil
	case TorchHistogram:
		return NewTorchHistogram(name, c), nil
	}
	return nil, fmt.Errorf("quant: calibrator %q: unknown method %v", name, cal.Method)
}

// minMaxKernel selects minMaxAVX512 in batchMinMax where the CPU has it
// (tests turn it off for the reference loop).
var minMaxKernel = hasMinMaxAVX512

// batchMinMax returns the min and max of x, or an error naming the first
// non-finite element.
func batchMinMax(name string, x []float32) (lo, hi float32, err error) {
	if minMaxKernel && len(x) > 0 {
		// Keys of the float bits order finite floats as Go's min and max
		// do (-0 below +0), so the result is the loop's to the bit.
		key := func(f float32) int32 { b := int32(math.Float32bits(f)); return b ^ (b >> 31 & 0x7fffffff) }
		var klo, khi [16]int32
		for i := range klo {
			klo[i], khi[i] = key(float32(math.Inf(1))), key(float32(math.Inf(-1)))
		}
		if minMaxAVX512(&x[0], len(x), &klo, &khi) == 0 {
			mn, mx := klo[0], khi[0]
			for i := 1; i < 16; i++ {
				mn, mx = min(mn, klo[i]), max(mx, khi[i])
			}
			unkey := func(k int32) float32 { return math.Float32frombits(uint32(k ^ (k >> 31 & 0x7fffffff))) }
			return unkey(mn), unkey(mx), nil
		}
		// A non-finite value: the loop below names it.
	}
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for i, v := range x {
		if !finite(v) {
			return 0, 0, fmt.Errorf("%w: calibrator %q: element %d of a batch of %d is %v", ErrNaN, name, i, len(x), v)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi, nil
}

// MinMaxCalibrator keeps the running minimum and maximum
// (torch.ao.quantization.MinMaxObserver).
type MinMaxCalibrator struct {
	name   string
	lo, hi float32
	seen   bool
}

// NewMinMax returns an empty min/max calibrator.
func NewMinMax(name string) *MinMaxCalibrator { return &MinMaxCalibrator{name: name} }

// Observe folds x into the running range; empty batches are ignored.
func (m *MinMaxCalibrator) Observe(x []float32) error {
	if len(x) == 0 {
		return nil
	}
	lo, hi, err := batchMinMax(m.name, x)
	if err != nil {
		return err
	}
	if !m.seen {
		m.lo, m.hi, m.seen = lo, hi, true
		return nil
	}
	m.lo, m.hi = min(m.lo, lo), max(m.hi, hi)
	return nil
}

// Range returns the minimum and maximum observed.
func (m *MinMaxCalibrator) Range() (float32, float32, error) {
	if !m.seen {
		return 0, 0, fmt.Errorf("%w: calibrator %q", ErrNoData, m.name)
	}
	return m.lo, m.hi, nil
}

// Reset forgets everything observed.
func (m *MinMaxCalibrator) Reset() { *m = MinMaxCalibrator{name: m.name} }

// MovingAverageCalibrator averages batch minima and maxima:
// lo ← lo + c·(batch_lo − lo), in float32 as PyTorch's
// MovingAverageMinMaxObserver does; the first batch sets the range.
type MovingAverageCalibrator struct {
	name   string
	c      float32
	lo, hi float32
	seen   bool
}

// NewMovingAverage returns a moving-average calibrator with averaging
// constant c (0 means PyTorch's 0.01).
func NewMovingAverage(name string, c float32) *MovingAverageCalibrator {
	if c == 0 {
		c = 0.01
	}
	return &MovingAverageCalibrator{name: name, c: c}
}

// Observe updates the averages with x's min and max; empty batches are
// ignored.
func (m *MovingAverageCalibrator) Observe(x []float32) error {
	if len(x) == 0 {
		return nil
	}
	lo, hi, err := batchMinMax(m.name, x)
	if err != nil {
		return err
	}
	if !m.seen {
		m.lo, m.hi, m.seen = lo, hi, true
		return nil
	}
	// Separate float32 roundings, as PyTorch's three tensor ops.
	m.lo = m.lo + float32(m.c*float32(lo-m.lo))
	m.hi = m.hi + float32(m.c*float32(hi-m.hi))
	return nil
}

// Range returns the averaged range.
func (m *MovingAverageCalibrator) Range() (float32, float32, error) {
	if !m.seen {
		return 0, 0, fmt.Errorf("%w: calibrator %q", ErrNoData, m.name)
	}
	return m.lo, m.hi, nil
}

// Reset forgets everything observed.
func (m *MovingAverageCalibrator) Reset() { *m = MovingAverageCalibrator{name: m.name, c: m.c} }

// Observer calibrates one tensor under a TensorConfig: one calibrator for a
// per-tensor scheme, or one per channel along the config's Axis, and turns
// the ranges into QParams.
type Observer struct {
	name string
	cfg  TensorConfig
	cals []Calibrator
	buf  []float32
}

// NewObserver returns an observer for the tensor called name (used in
// errors) quantized with c. Per-channel observers size themselves on the
// first Observe.
func NewObserver(name string, c TensorConfig) (*Observer, error) {
	if c.Float || c.Int32Bias {
		return nil, fmt.Errorf("quant: observer %q: %w: Float and Int32Bias tensors are not calibrated", name, ErrConfig)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("quant: observer %q: %w", name, err)
	}
	o := &Observer{name: name, cfg: c}
	if !c.PerChannel {
		cal, err := NewCalibrator(name, c)
		if err != nil {
			return nil, err
		}
		o.cals = []Calibrator{cal}
	}
	return o, nil
}

// Name returns the observed tensor's name.
func (o *Observer) Name() string { return o.name }

// Observe feeds one batch (any shape; per-channel observers need the
// channel axis present and the same channel count every time).
func (o *Observer) Observe(x *tensor.Tensor) error {
	if !o.cfg.PerChannel {
		return o.cals[0].Observe(x.Data)
	}
	ax := o.cfg.Axis
	if ax >= len(x.Shape) {
		return fmt.Errorf("quant: observer %q: %w: channel axis %d for shape %v", o.name, tensor.ErrShape, ax, x.Shape)
	}
	c := x.Shape[ax]
	if o.cals == nil {
		for i := 0; i < c; i++ {
			cal, err := NewCalibrator(fmt.Sprintf("%s[channel %d]", o.name, i), o.cfg)
			if err != nil {
				return err
			}
			o.cals = append(o.cals, cal)
		}
	}
	if c != len(o.cals) {
		return fmt.Errorf("quant: observer %q: %w: shape %v has %d channels on axis %d, earlier batches had %d", o.name, tensor.ErrShape, x.Shape, c, ax, len(o.cals))
	}
	inner := tensor.Size(x.Shape[ax+1:])
	outer := tensor.Size(x.Shape[:ax])
	for ch := 0; ch < c; ch++ {
		o.buf = o.buf[:0]
		for b := 0; b < outer; b++ {
			off := (b*c + ch) * inner
			o.buf = append(o.buf, x.Data[off:off+inner]...)
		}
		if err := o.cals[ch].Observe(o.buf); err != nil {
			return err
		}
	}
	return nil
}

// Ranges returns the calibrated range of every channel (one for per-tensor).
func (o *Observer) Ranges() (lo, hi []float32, err error) {
	if len(o.cals) == 0 {
		return nil, nil, fmt.Errorf("%w: observer %q", ErrNoData, o.name)
	}
	lo, hi = make([]float32, len(o.cals)), make([]float32, len(o.cals))
	for i, c := range o.cals {
		if lo[i], hi[i], err = c.Range(); err != nil {
			return nil, nil, err
		}
	}
	return lo, hi, nil
}

// QParams returns the params for the calibrated ranges.
func (o *Observer) QParams() (*QParams, error) {
	lo, hi, err := o.Ranges()
	if err != nil {
		return nil, err
	}
	axis := -1
	if o.cfg.PerChannel {
		axis = o.cfg.Axis
	}
	q, err := o.cfg.QParamsFromRanges(lo, hi, axis)
	if err != nil {
		return nil, fmt.Errorf("quant: observer %q: %w", o.name, err)
	}
	return q, nil
}

// Reset forgets everything observed.
func (o *Observer) Reset() {
	if o.cfg.PerChannel {
		o.cals = nil
		return
	}
	o.cals[0].Reset()
}
