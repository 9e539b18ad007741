package quant_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// The papers' quint8 scheme: the range [-0.1, 63.65] is nudged so that 0.0
// is exact, then values snap to 256 levels.
func ExampleTensorConfig_QParamsFromRange() {
	cfg := quant.QUInt8().Activations
	q, err := cfg.QParamsFromRange(-0.1, 63.65)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := &tensor.Tensor{Shape: []int{5}, Data: []float32{-0.1, 0, 0.1, 0.3, 70}}
	if err := q.FakeQuant(x, x); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q)
	fmt.Println(x.Data)
	// Output:
	// QParams{scale=0.25 zp=0 q=[0,255]}
	// [0 0 0 0.25 63.75]
}

// Switching scheme, granularity or bit width is one field of a config.
func ExampleTFLiteInt8() {
	cfg := quant.TFLiteInt8()
	cfg.Weights.Bits = 4
	cfg.Activations.Calibrator.Method = quant.Entropy
	fmt.Println(cfg.Validate())
	lo, hi := cfg.Weights.Range()
	fmt.Println(lo, hi, cfg.Weights.PerChannel)
	// Output:
	// <nil>
	// -7 7 true
}

// Requantizing an int32 accumulator the way TFLite does: the real
// multiplier becomes a Q31 mantissa and a shift.
func ExampleMultiplyByQuantizedMultiplier() {
	mult, shift := quant.QuantizeMultiplier(0.0123)
	fmt.Println(mult, shift)
	fmt.Println(quant.MultiplyByQuantizedMultiplier(10000, mult, shift)) // 10000 × 0.0123 = 123
	// Output:
	// 1690499128 -6
	// 123
}
