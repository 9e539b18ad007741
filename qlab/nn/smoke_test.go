package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

func randTensor(seed uint64, scale float32, shape ...int) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64()) * scale
	}
	return t
}

func TestRefNetSmoke(t *testing.T) {
	for _, dws := range []bool{false, true} {
		m := refNetS(t, dws)
		x := randTensor(1, 1, 4, 3, 32, 32)
		y, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		var loss SoftmaxCrossEntropy
		l, err := loss.Forward(y, []int{0, 1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Backward(loss.Backward()); err != nil {
			t.Fatal(err)
		}
		t.Logf("dws=%v loss %v\n%s", dws, l, m.Summary())
	}
}
