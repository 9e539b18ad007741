package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// IntModel runs a fake-quantized Model with integer arithmetic only (after
// the input is quantized): 8-bit codes between layers, int32 accumulators,
// gemmlowp requantization. It covers plain chains of Conv2D,
// DepthwiseConv2D, Dense (each with an optional fused ReLU/ReLU6),
// MaxPool2D, GlobalAvgPool, Flatten and Dropout — RefNet-S, RefNet-DWS and
// the VGG family. Residual adds, unfolded batch norm and standalone
// activations are not implemented (Integer returns an error naming the
// layer).
type IntModel struct {
	input *QParams
	steps []intStep
}

type intStep struct {
	name string
	run  func(x *QTensor) (*QTensor, error)
}

// Integer builds the integer-only version of q. q must be Full mode with
// 8-bit per-tensor activations and 8-bit weights.
func (q *Model) Integer() (*IntModel, error) {
	if q.input == nil || q.Options.Mode != Full {
		return nil, fmt.Errorf("quant: integer model: needs a Full-mode model with quantized activations")
	}
	for _, l := range q.Net.TopLayers() {
		if _, ok := l.(*nn.Residual); ok {
			return nil, fmt.Errorf("quant: integer model: residual block %q: integer Add is not implemented", l.Name())
		}
	}
	im := &IntModel{input: q.input}
	for i := 1; i < len(q.Layers); i++ {
		lq := q.Layers[i]
		var next *LayerQuant
		if i+1 < len(q.Layers) {
			next = &q.Layers[i+1]
		}
		fusedAct := func() (string, *QParams) {
			if lq.Output == nil && next != nil && (next.Kind == "ReLU" || next.Kind == "ReLU6") && next.Input == "" {
				i++ // the activation runs inside this step
				return next.Kind, next.Output
			}
			return "", lq.Output
		}
		errf := func(format string, a ...any) error {
			return fmt.Errorf("quant: integer model: layer %q (%s): "+format, append([]any{lq.Layer, lq.Kind}, a...)...)
		}
		switch l := q.Net.Layer(lq.Layer).(type) {
		case *nn.Conv2D:
			c, err := q.IntConv2D(lq.Layer)
			if err != nil {
				return nil, err
			}
			fusedAct()
			im.steps = append(im.steps, intStep{lq.Layer, c.Forward})
		case *nn.Dense:
			in, out := l.InOut()
			act, op := fusedAct()
			c, err := q.intWeighted(lq, l.Weight(), l.Bias(), in, out, 1, 1, 0, op, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			im.steps = append(im.steps, intStep{lq.Layer, func(x *QTensor) (*QTensor, error) {
				if len(x.Shape) != 2 {
					return nil, fmt.Errorf("quant: integer dense %q: %w: input %v", lq.Layer, tensor.ErrShape, x.Shape)
				}
				y, err := c.Forward(&QTensor{Shape: []int{x.Shape[0], x.Shape[1], 1, 1}, Data: x.Data, Params: x.Params})
				if err != nil {
					return nil, err
				}
				y.Shape = []int{x.Shape[0], out}
				return y, nil
			}})
		case *nn.DepthwiseConv2D:
			act, op := fusedAct()
			d, err := q.intDepthwise(lq, l, op, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			im.steps = append(im.steps, intStep{lq.Layer, d})
		case *nn.MaxPool2D:
			k, s := l.KernelStride()
			im.steps = append(im.steps, intStep{lq.Layer, func(x *QTensor) (*QTensor, error) { return intMaxPool(x, k, s) }})
		case *nn.GlobalAvgPool:
			if lq.Output == nil {
				return nil, errf("output not quantized")
			}
			im.steps = append(im.steps, intStep{lq.Layer, func(x *QTensor) (*QTensor, error) { return intGlobalAvg(x, lq.Output) }})
		case *nn.Flatten:
			im.steps = append(im.steps, intStep{lq.Layer, func(x *QTensor) (*QTensor, error) {
				if len(x.Shape) < 2 {
					return nil, fmt.Errorf("quant: integer flatten %q: %w: input %v", lq.Layer, tensor.ErrShape, x.Shape)
				}
				return &QTensor{Shape: []int{x.Shape[0], tensor.Size(x.Shape[1:])}, Data: x.Data, Params: x.Params}, nil
			}})
		case *nn.Dropout:
			// Inference: identity.
		default:
			return nil, errf("not implemented in integer inference")
		}
	}
	return im, nil
}

// Forward quantizes x with the input params and runs every integer step;
// the result holds the last layer's output codes and params (Dequantize
// for real values).
func (im *IntModel) Forward(x *tensor.Tensor) (*QTensor, error) {
	q, err := im.input.Quantize(x)
	if err != nil {
		return nil, fmt.Errorf("quant: integer model input: %w", err)
	}
	for _, s := range im.steps {
		if q, err = s.run(q); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// layerInput returns the params of the activation feeding lq.
func (q *Model) layerInput(lq LayerQuant) *QParams {
	if lq.Input == InputName {
		return q.input
	}
	return q.acts[lq.Input]
}

// intBias returns the int32 bias codes of b in accumulator scale.
func intBias(b *nn.Param, in, w *QParams) ([]int32, error) {
	if b == nil {
		return nil, nil
	}
	bp, err := BiasQParams(in, w)
	if err != nil {
		return nil, err
	}
	bt, err := bp.Quantize(b.Value)
	if err != nil {
		return nil, err
	}
	return bt.Data, nil
}

// intWeighted builds the GEMM-based step of a Conv2D-like layer.
func (q *Model) intWeighted(lq LayerQuant, w, b *nn.Param, inC, outC, k, stride, pad int, out *QParams, act string) (*IntConv2D, error) {
	in := q.layerInput(lq)
	if in == nil || out == nil || lq.Weight == nil {
		return nil, fmt.Errorf("input, weight or output not quantized")
	}
	wq, err := lq.Weight.Quantize(w.Value)
	if err != nil {
		return nil, err
	}
	bias, err := intBias(b, in, lq.Weight)
	if err != nil {
		return nil, err
	}
	return newIntConv(lq.Layer, inC, outC, k, stride, pad, in, wq, bias, out, act)
}

// intDepthwise builds a direct integer depthwise convolution:
// acc = Σ (qx - zx)(qw - zw) + bias per output channel, then requantization.
func (q *Model) intDepthwise(lq LayerQuant, l *nn.DepthwiseConv2D, out *QParams, act string) (func(*QTensor) (*QTensor, error), error) {
	in := q.layerInput(lq)
	if in == nil || out == nil || lq.Weight == nil || len(in.Scale) != 1 || len(out.Scale) != 1 {
		return nil, fmt.Errorf("input, weight or output not quantized per tensor")
	}
	cfg := l.Config()
	mult, k, stride := max(cfg.Multiplier, 1), cfg.Kernel, max(cfg.Stride, 1)
	pad := 0
	if cfg.Padding == nn.Same {
		pad = k / 2
	}
	co := cfg.Channels * mult
	wq, err := lq.Weight.Quantize(l.Weight().Value)
	if err != nil {
		return nil, err
	}
	bias, err := intBias(l.Bias(), in, lq.Weight)
	if err != nil {
		return nil, err
	}
	wp := lq.Weight
	ms, shifts, zw := make([]int32, co), make([]int, co), make([]int32, co)
	for o := 0; o < co; o++ {
		ch := 0
		if wp.Axis == 0 {
			ch = o
		}
		zw[o] = wp.ZeroPoint[ch]
		ms[o], shifts[o] = QuantizeMultiplier(float64(in.Scale[0]) * float64(wp.Scale[ch]) / float64(out.Scale[0]))
	}
	lo, hi, err := actClamp(out, act)
	if err != nil {
		return nil, err
	}
	zx, zo := in.ZeroPoint[0], out.ZeroPoint[0]
	return func(x *QTensor) (*QTensor, error) {
		if len(x.Shape) != 4 || x.Shape[1] != cfg.Channels {
			return nil, fmt.Errorf("quant: integer depthwise %q: %w: input %v", lq.Layer, tensor.ErrShape, x.Shape)
		}
		n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
		oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
		y := &QTensor{Shape: []int{n, co, oh, ow}, Data: make([]int32, n*co*oh*ow), Params: out}
		for b := 0; b < n; b++ {
			for o := 0; o < co; o++ {
				plane := x.Data[(b*cfg.Channels+o/mult)*h*w:][:h*w]
				wt := wq.Data[o*k*k:][:k*k]
				var bo int32
				if bias != nil {
					bo = bias[o]
				}
				dst := y.Data[(b*co+o)*oh*ow:][:oh*ow]
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						acc := bo
						for ky := 0; ky < k; ky++ {
							iy := oy*stride + ky - pad
							if iy < 0 || iy >= h {
								continue // padding is real 0: qx = zx
							}
							for kx := 0; kx < k; kx++ {
								ix := ox*stride + kx - pad
								if ix < 0 || ix >= w {
									continue
								}
								acc += (plane[iy*w+ix] - zx) * (wt[ky*k+kx] - zw[o])
							}
						}
						v := MultiplyByQuantizedMultiplier(acc, ms[o], shifts[o]) + zo
						dst[oy*ow+ox] = min(max(v, lo), hi)
					}
				}
			}
		}
		return y, nil
	}, nil
}

// intMaxPool takes the maximum code of each window: codes are monotonic in
// the real value (scale > 0), so this is exact and keeps the params.
func intMaxPool(x *QTensor, k, s int) (*QTensor, error) {
	if len(x.Shape) != 4 || x.Shape[2] < k || x.Shape[3] < k {
		return nil, fmt.Errorf("quant: integer max pool: %w: input %v, kernel %d", tensor.ErrShape, x.Shape, k)
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := (h-k)/s+1, (w-k)/s+1
	y := &QTensor{Shape: []int{n, c, oh, ow}, Data: make([]int32, n*c*oh*ow), Params: x.Params}
	for p := 0; p < n*c; p++ {
		src := x.Data[p*h*w:][:h*w]
		dst := y.Data[p*oh*ow:][:oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				m := int32(math.MinInt32)
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						m = max(m, src[(oy*s+ky)*w+ox*s+kx])
					}
				}
				dst[oy*ow+ox] = m
			}
		}
	}
	return y, nil
}

// intGlobalAvg averages each plane: zo + requant(Σ(q - zi)) with the real
// multiplier s_in / (s_out · H·W).
func intGlobalAvg(x *QTensor, out *QParams) (*QTensor, error) {
	if len(x.Shape) != 4 || len(x.Params.Scale) != 1 {
		return nil, fmt.Errorf("quant: integer global average pool: %w: input %v", tensor.ErrShape, x.Shape)
	}
	n, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	m, sh := QuantizeMultiplier(float64(x.Params.Scale[0]) / (float64(out.Scale[0]) * float64(hw)))
	zi, zo := x.Params.ZeroPoint[0], out.ZeroPoint[0]
	y := &QTensor{Shape: []int{n, c}, Data: make([]int32, n*c), Params: out}
	for p := range y.Data {
		var acc int32
		for _, v := range x.Data[p*hw:][:hw] {
			acc += v - zi
		}
		y.Data[p] = min(max(MultiplyByQuantizedMultiplier(acc, m, sh)+zo, out.QMin), out.QMax)
	}
	return y, nil
}
