package quant

import (
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// Dequantized returns im as a train.Forwarder whose output is the
// dequantized logits, so train.Evaluate measures the integer model exactly
// as it measures the float and the fake-quantized ones:
//
//	m, err := train.Evaluate(ctx, im.Dequantized(), test, 0)
//
// Each call of the returned function allocates its output.
func (im *IntModel) Dequantized() train.ForwardFunc {
	return func(x *tensor.Tensor) (*tensor.Tensor, error) {
		y, err := im.Forward(x)
		if err != nil {
			return nil, err
		}
		return y.Dequantize()
	}
}
