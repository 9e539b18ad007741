package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// IntConv2D is an integer-only Conv2D, the building block of integer
// inference: 8-bit activation codes in, 8-bit weight codes, exact int32
// accumulation through gemm.GemmU8S8, an int32 bias, and gemmlowp/TFLite
// requantization (MultiplyByQuantizedMultiplier per output channel) to the
// output params, with a fused ReLU/ReLU6 as a clamp.
//
// Any 8-bit scheme works: signed codes are shifted by 128 into the uint8
// the GEMM takes (and weight codes into int8) with the zero points shifted
// alike, and non-zero weight zero points are corrected with row sums, so
// QUInt8 (asymmetric uint8 weights) and TFLiteInt8 (symmetric int8
// per-channel weights, int8 activations) run on the same kernel.
type IntConv2D struct {
	step *convStep
	x    intAct
}

// NewIntConv2D builds the integer convolution of l from its params: in
// (per tensor, 8-bit), weight params w (8-bit, per tensor or per output
// channel) with the weight codes wq, the int32 bias codes (nil for none;
// scale in·w per channel, zero point 0 as BiasQParams gives), and out (per
// tensor, 8-bit). act is "" or the Kind of a fused activation ("ReLU",
// "ReLU6").
func NewIntConv2D(l *nn.Conv2D, in *QParams, wq *QTensor, bias []int32, out *QParams, act string) (*IntConv2D, error) {
	cfg := l.Config()
	pad := 0
	if cfg.Padding == nn.Same {
		pad = cfg.Kernel / 2
	}
	s, err := newConvStep(l.Name(), cfg.In, cfg.Out, cfg.Kernel, max(cfg.Stride, 1), pad, in, wq, bias, out, act)
	if err != nil {
		return nil, err
	}
	return &IntConv2D{step: s}, nil
}

// actClamp returns the code range of out with a fused activation: ReLU
// clamps at the zero point (real 0), ReLU6 also at the code of 6.
func actClamp(out *QParams, act string) (lo, hi int32, err error) {
	lo, hi = out.QMin, out.QMax
	zo := out.ZeroPoint[0]
	switch act {
	case "":
	case "ReLU":
		lo = max(lo, zo)
	case "ReLU6":
		lo = max(lo, zo)
		hi = min(hi, zo+int32(math.Round(6/float64(out.Scale[0]))))
	default:
		return 0, 0, fmt.Errorf("unsupported fused activation %q", act)
	}
	return lo, hi, nil
}

// Forward convolves x, input codes (N, In, H, W) under the input params, and
// returns output codes (N, Out, OH, OW) under the output params (a new
// tensor). Codes outside the input params' range are an error.
func (c *IntConv2D) Forward(x *QTensor) (*QTensor, error) {
	if len(x.Shape) != 4 || x.Shape[1] != c.step.inC || len(x.Data) != tensor.Size(x.Shape) {
		return nil, fmt.Errorf("quant: integer conv %q: %w: input %v, want (N, %d, H, W)", c.step.name, tensor.ErrShape, x.Shape, c.step.inC)
	}
	in := *x
	in.Params = c.step.in
	if err := c.x.fromQTensor(&in); err != nil {
		return nil, fmt.Errorf("quant: integer conv %q: %w", c.step.name, err)
	}
	y, err := c.step.run(&c.x)
	if err != nil {
		return nil, err
	}
	out := new(QTensor)
	y.toQTensor(out)
	return out, nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// IntConv2D returns the integer version of the named Conv2D of q (Full mode,
// 8-bit params, the layer's input and output — or its fused activation's
// output — quantized). A float bias is quantized to int32 with scale
// input scale × weight scale, as TFLite does.
func (q *Model) IntConv2D(name string) (*IntConv2D, error) {
	idx := -1
	for i := range q.Layers {
		if q.Layers[i].Layer == name {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("quant: no layer %q", name)
	}
	lq := q.Layers[idx]
	conv, ok := q.Net.Layer(name).(*nn.Conv2D)
	if !ok || lq.Weight == nil {
		return nil, fmt.Errorf("quant: layer %q is not a quantized Conv2D", name)
	}
	in := q.input
	if lq.Input != InputName {
		in = q.acts[lq.Input]
	}
	out, act := lq.Output, ""
	if out == nil && idx+1 < len(q.Layers) {
		if nx := q.Layers[idx+1]; (nx.Kind == "ReLU" || nx.Kind == "ReLU6") && nx.Input == "" {
			out, act = nx.Output, nx.Kind
		}
	}
	if in == nil || out == nil {
		return nil, fmt.Errorf("quant: layer %q: input or output is not quantized", name)
	}
	wq, err := lq.Weight.Quantize(conv.Weight().Value)
	if err != nil {
		return nil, err
	}
	var bias []int32
	if b := conv.Bias(); b != nil {
		bp := lq.Bias
		if bp == nil || bp.QMin != math.MinInt32 { // not in accumulator scale
			if bp, err = BiasQParams(in, lq.Weight); err != nil {
				return nil, err
			}
		}
		bt, err := bp.Quantize(b.Value)
		if err != nil {
			return nil, err
		}
		bias = bt.Data
	}
	return NewIntConv2D(conv, in, wq, bias, out, act)
}
