package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// IntModel runs a fake-quantized Model with integer arithmetic only (after
// the input is quantized): 8-bit codes between layers, int32 accumulators,
// gemmlowp requantization. It covers Conv2D, DepthwiseConv2D and Dense
// (each with an optional fused ReLU/ReLU6), MaxPool2D, GlobalAvgPool,
// Flatten, Dropout, Sequential, and Residual blocks whose Add (optionally
// fused with a following activation) follows TFLite's integer Add — so
// RefNet-S/DWS, the VGG family, ResNets and MobileNetV2. Unfolded batch
// norm, AvgPool2D and standalone activations are not implemented (Integer
// returns an error naming the layer).
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
	steps, err := q.intList(q.Net.TopLayers())
	if err != nil {
		return nil, err
	}
	return &IntModel{input: q.input, steps: steps}, nil
}

// intList builds the integer steps of a list of layers, fusing each
// fusable layer with a directly following activation as Quantize did.
func (q *Model) intList(ls []nn.Layer) ([]intStep, error) {
	var steps []intStep
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		// The record whose output a following activation may absorb.
		rec := q.Layer(l.Name())
		if r, ok := l.(*nn.Residual); ok {
			rec = q.Layer(r.AddLayer().Name())
		}
		act, actOut := "", (*QParams)(nil)
		if rec != nil {
			actOut = rec.Output
		}
		if i+1 < len(ls) && isActivation(ls[i+1]) && rec != nil && rec.Output == nil {
			if nx := q.Layer(ls[i+1].Name()); nx != nil && nx.Input == "" && nx.Output != nil {
				act, actOut = nx.Kind, nx.Output
				i++
			}
		}
		errf := func(format string, a ...any) error {
			return fmt.Errorf("quant: integer model: layer %q (%s): "+format, append([]any{l.Name(), l.Kind()}, a...)...)
		}
		switch t := l.(type) {
		case *nn.Sequential:
			sub, err := q.intList(t.Children())
			if err != nil {
				return nil, err
			}
			steps = append(steps, sub...)
		case *nn.Residual:
			body, err := q.intList(t.Body())
			if err != nil {
				return nil, err
			}
			sc, err := q.intList(t.Shortcut())
			if err != nil {
				return nil, err
			}
			if actOut == nil {
				return nil, errf("add output not quantized")
			}
			lo, hi, err := actClamp(actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			name := t.Name()
			steps = append(steps, intStep{name, func(x *QTensor) (*QTensor, error) {
				a, err := runSteps(body, x)
				if err != nil {
					return nil, err
				}
				b, err := runSteps(sc, x)
				if err != nil {
					return nil, err
				}
				return intAdd(name, a, b, actOut, lo, hi)
			}})
		case *nn.Conv2D:
			cfg := t.Config()
			pad := 0
			if cfg.Padding == nn.Same {
				pad = cfg.Kernel / 2
			}
			c, err := q.intWeighted(*rec, t.Weight(), t.Bias(), cfg.In, cfg.Out, cfg.Kernel, max(cfg.Stride, 1), pad, actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			steps = append(steps, intStep{l.Name(), c.Forward})
		case *nn.Dense:
			in, out := t.InOut()
			c, err := q.intWeighted(*rec, t.Weight(), t.Bias(), in, out, 1, 1, 0, actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			name := l.Name()
			steps = append(steps, intStep{name, func(x *QTensor) (*QTensor, error) {
				if len(x.Shape) != 2 {
					return nil, fmt.Errorf("quant: integer dense %q: %w: input %v", name, tensor.ErrShape, x.Shape)
				}
				y, err := c.Forward(&QTensor{Shape: []int{x.Shape[0], x.Shape[1], 1, 1}, Data: x.Data, Params: x.Params})
				if err != nil {
					return nil, err
				}
				y.Shape = []int{x.Shape[0], out}
				return y, nil
			}})
		case *nn.DepthwiseConv2D:
			d, err := q.intDepthwise(*rec, t, actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			steps = append(steps, intStep{l.Name(), d})
		case *nn.MaxPool2D:
			k, s := t.KernelStride()
			steps = append(steps, intStep{l.Name(), func(x *QTensor) (*QTensor, error) { return intMaxPool(x, k, s) }})
		case *nn.GlobalAvgPool:
			if actOut == nil {
				return nil, errf("output not quantized")
			}
			steps = append(steps, intStep{l.Name(), func(x *QTensor) (*QTensor, error) { return intGlobalAvg(x, actOut) }})
		case *nn.Flatten:
			name := l.Name()
			steps = append(steps, intStep{name, func(x *QTensor) (*QTensor, error) {
				if len(x.Shape) < 2 {
					return nil, fmt.Errorf("quant: integer flatten %q: %w: input %v", name, tensor.ErrShape, x.Shape)
				}
				return &QTensor{Shape: []int{x.Shape[0], tensor.Size(x.Shape[1:])}, Data: x.Data, Params: x.Params}, nil
			}})
		case *nn.Dropout:
			// Inference: identity.
		default:
			return nil, errf("not implemented in integer inference")
		}
	}
	return steps, nil
}

func runSteps(steps []intStep, x *QTensor) (*QTensor, error) {
	var err error
	for _, s := range steps {
		if x, err = s.run(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// intAdd is TFLite's reference integer Add (add.h): both inputs are
// left-shifted by 20 bits, rescaled to twice the larger input scale,
// summed, and requantized to the output, each step with
// MultiplyByQuantizedMultiplier.
func intAdd(name string, a, b *QTensor, out *QParams, lo, hi int32) (*QTensor, error) {
	if !tensor.SameShape(a.Shape, b.Shape) || len(a.Params.Scale) != 1 || len(b.Params.Scale) != 1 {
		return nil, fmt.Errorf("quant: integer add %q: %w: inputs %v and %v", name, tensor.ErrShape, a.Shape, b.Shape)
	}
	const leftShift = 20
	sa, sb := float64(a.Params.Scale[0]), float64(b.Params.Scale[0])
	twiceMax := 2 * math.Max(sa, sb)
	ma, sha := QuantizeMultiplier(sa / twiceMax)
	mb, shb := QuantizeMultiplier(sb / twiceMax)
	mo, sho := QuantizeMultiplier(twiceMax / (float64(1<<leftShift) * float64(out.Scale[0])))
	za, zb, zo := a.Params.ZeroPoint[0], b.Params.ZeroPoint[0], out.ZeroPoint[0]
	y := &QTensor{Shape: append([]int(nil), a.Shape...), Data: make([]int32, len(a.Data)), Params: out}
	for i := range y.Data {
		x1 := MultiplyByQuantizedMultiplier((a.Data[i]-za)<<leftShift, ma, sha)
		x2 := MultiplyByQuantizedMultiplier((b.Data[i]-zb)<<leftShift, mb, shb)
		v := requantize(x1+x2, mo, sho) + zo
		y.Data[i] = min(max(v, lo), hi)
	}
	return y, nil
}

// Forward quantizes x with the input params and runs every integer step;
// the result holds the last layer's output codes and params (Dequantize
// for real values).
func (im *IntModel) Forward(x *tensor.Tensor) (*QTensor, error) {
	q, err := im.input.Quantize(x)
	if err != nil {
		return nil, fmt.Errorf("quant: integer model input: %w", err)
	}
	return runSteps(im.steps, q)
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
						v := requantize(acc, ms[o], shifts[o]) + zo
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
		y.Data[p] = min(max(requantize(acc, m, sh)+zo, out.QMin), out.QMax)
	}
	return y, nil
}
