package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestMaxPool2InferenceMode checks the 2x2 max pool's inference path, which
// skips the argmax: its outputs are those of training mode bit for bit
// (NaN, ties and signed zeros included), and a Backward after it routes the
// gradient exactly as after a training-mode Forward.
func TestMaxPool2InferenceMode(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, shape := range [][]int{{2, 3, 8, 8}, {1, 2, 7, 9}, {3, 1, 2, 2}, {2, 3, 16, 16}, {1, 2, 6, 34}, {1, 1, 4, 64}} {
		x := tensor.New(shape...)
		for i := range x.Data {
			switch r.IntN(8) {
			case 0:
				x.Data[i] = float32(math.NaN())
			case 1:
				x.Data[i] = float32(math.Copysign(0, -1))
			case 2:
				x.Data[i] = 0
			case 3:
				x.Data[i] = 1 // ties
			default:
				x.Data[i] = float32(r.NormFloat64())
			}
		}
		run := func(training bool) (y, dx []float32) {
			p, err := NewMaxPool2D("pool", 2, 2)
			if err != nil {
				t.Fatal(err)
			}
			p.SetTraining(training)
			out, err := p.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			y = slices.Clone(out.Data)
			dy := tensor.New(out.Shape...)
			for i := range dy.Data {
				dy.Data[i] = float32(i + 1)
			}
			g, err := p.Backward(dy)
			if err != nil {
				t.Fatal(err)
			}
			return y, slices.Clone(g.Data)
		}
		ty, tdx := run(true)
		ey, edx := run(false)
		bits := func(v []float32) []uint32 {
			b := make([]uint32, len(v))
			for i, f := range v {
				b[i] = math.Float32bits(f)
				if f != f {
					b[i] = 0x7fc00000 // any NaN
				}
			}
			return b
		}
		if !slices.Equal(bits(ty), bits(ey)) {
			t.Errorf("%v: inference-mode outputs differ from training mode", shape)
		}
		if !slices.Equal(bits(tdx), bits(edx)) {
			t.Errorf("%v: Backward after an inference-mode Forward routes the gradient differently", shape)
		}
	}
}
