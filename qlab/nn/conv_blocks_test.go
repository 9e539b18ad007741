package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestConv2DRowBlocksBitIdentical checks that forwardSample's blocks of
// output rows (patch matrix in L2) give the whole-plane GEMM's outputs to
// the bit, for shapes with one, several and ragged blocks, with and
// without bias.
func TestConv2DRowBlocksBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct{ in, out, h, w int }{
		{32, 32, 32, 32}, {64, 64, 16, 16}, {64, 128, 8, 8}, {48, 20, 21, 16}, {3, 32, 32, 32}, {200, 8, 9, 8},
	} {
		for _, bias := range []bool{false, true} {
			name := fmt.Sprintf("in%d_out%d_%dx%d_bias%v", tc.in, tc.out, tc.h, tc.w, bias)
			t.Run(name, func(t *testing.T) {
				l, err := NewConv2D("c", Conv2DConfig{In: tc.in, Out: tc.out, Kernel: 3, Bias: bias})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range l.Params() {
					for i := range p.Value.Data {
						p.Value.Data[i] = float32(r.NormFloat64())
					}
				}
				x := tensor.New(2, tc.in, tc.h, tc.w)
				for i := range x.Data {
					x.Data[i] = float32(r.NormFloat64())
				}
				convRowBlocks = false
				y, err := l.Forward(x)
				convRowBlocks = true
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(y.Data)
				y, err = l.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Float32bits(y.Data[i]) != math.Float32bits(want[i]) {
						t.Fatalf("element %d: %v; whole-plane GEMM %v", i, y.Data[i], want[i])
					}
				}
			})
		}
	}
}
