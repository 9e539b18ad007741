package train

import (
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// LayerRanges records the smallest and largest output value of every
// layer it is shown. Its Observe method is a LayerFunc: pass it to
// Observe, Attach or Loop.Tap. Fit's Config.RecordRanges and the sweep's
// layer tables use it. The zero value is ready to use.
type LayerRanges struct {
	lo, hi map[string]float32
}

// Observe folds out's values into the range of layer l. Empty outputs are
// ignored; a NaN makes the range NaN.
func (r *LayerRanges) Observe(l nn.Layer, out *tensor.Tensor) error {
	if len(out.Data) == 0 {
		return nil
	}
	lo, hi := minMax(out.Data)
	if r.lo == nil {
		r.lo, r.hi = map[string]float32{}, map[string]float32{}
	}
	name := l.Name()
	if old, ok := r.lo[name]; ok {
		lo, hi = min(lo, old), max(hi, r.hi[name])
	}
	r.lo[name], r.hi[name] = lo, hi
	return nil
}

// Range returns the range of the named layer's outputs seen so far; ok is
// false when there were none.
func (r *LayerRanges) Range(layer string) (lo, hi float32, ok bool) {
	lo, ok = r.lo[layer]
	return lo, r.hi[layer], ok
}

// Reset forgets every range.
func (r *LayerRanges) Reset() {
	clear(r.lo)
	clear(r.hi)
}

// minMax returns the smallest and largest of x (not empty).
func minMax(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
