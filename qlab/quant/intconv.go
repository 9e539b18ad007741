package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/internal/gemm"
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
	name           string
	in, out        *QParams
	inC, outC, k   int
	stride, pad    int
	inOff          int32   // added to input codes to make them uint8
	za             int32   // input zero point after the offset
	b              []int8  // weights as [in*k*k, out], shifted to int8
	zb             []int32 // per output channel, after the shift
	colSums        []int32 // per output channel: sum of b over the patch
	bias           []int32
	mult           []int32
	shift          []int
	actMin, actMax int32
	col, u8        []uint8
	rowSums, acc   []int32
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
	return newIntConv(l.Name(), cfg.In, cfg.Out, cfg.Kernel, max(cfg.Stride, 1), pad, in, wq, bias, out, act)
}

// newIntConv is NewIntConv2D on plain geometry (Dense is a 1x1 conv).
func newIntConv(name string, inC, outC, k, stride, pad int, in *QParams, wq *QTensor, bias []int32, out *QParams, act string) (*IntConv2D, error) {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("quant: integer conv %q: "+format, append([]any{name}, a...)...)
	}
	if in == nil || out == nil || wq == nil || len(in.Scale) != 1 || len(out.Scale) != 1 {
		return nil, errf("needs per-tensor input and output params and weight codes")
	}
	for _, q := range []*QParams{in, out, wq.Params} {
		if q.QMax-q.QMin > 255 || q.QMin < -128 || q.QMax > 255 {
			return nil, errf("params %v are not 8-bit", q)
		}
	}
	cfg := nn.Conv2DConfig{In: inC, Out: outC, Kernel: k}
	k, patch := cfg.Kernel, cfg.In*cfg.Kernel*cfg.Kernel
	if tensor.Size(wq.Shape) != cfg.Out*patch || len(wq.Shape) == 0 || wq.Shape[0] != cfg.Out {
		return nil, errf("%w: weight shape %v, want %v", tensor.ErrShape, wq.Shape, []int{cfg.Out, cfg.In, k, k})
	}
	wp := wq.Params
	if !(wp.Axis < 0 || (wp.Axis == 0 && len(wp.Scale) == cfg.Out)) {
		return nil, errf("weight params must be per tensor or per output channel (axis 0)")
	}
	if bias != nil && len(bias) != cfg.Out {
		return nil, errf("%d bias values for %d channels", len(bias), cfg.Out)
	}
	c := &IntConv2D{name: name, in: in, out: out, inC: cfg.In, outC: cfg.Out, k: k, stride: stride, pad: pad}
	if in.QMin < 0 {
		c.inOff = 128
	}
	c.za = in.ZeroPoint[0] + c.inOff
	var wOff int32
	if wp.QMax > 127 {
		wOff = -128
	}
	c.b = make([]int8, patch*cfg.Out)
	c.zb = make([]int32, cfg.Out)
	c.colSums = make([]int32, cfg.Out)
	c.bias = make([]int32, cfg.Out)
	c.mult = make([]int32, cfg.Out)
	c.shift = make([]int, cfg.Out)
	for o := 0; o < cfg.Out; o++ {
		ch := 0
		if wp.Axis == 0 {
			ch = o
		}
		c.zb[o] = wp.ZeroPoint[ch] + wOff
		for p := 0; p < patch; p++ {
			v := int8(wq.Data[o*patch+p] + wOff)
			c.b[p*cfg.Out+o] = v
			c.colSums[o] += int32(v)
		}
		if bias != nil {
			c.bias[o] = bias[o]
		}
		// TFLite: effective scale in double from the float params.
		real := float64(in.Scale[0]) * float64(wp.Scale[ch]) / float64(out.Scale[0])
		c.mult[o], c.shift[o] = QuantizeMultiplier(real)
		if c.shift[o] > 30 || c.shift[o] < -31 {
			return nil, errf("requantization multiplier %g out of range", real)
		}
	}
	var err error
	if c.actMin, c.actMax, err = actClamp(out, act); err != nil {
		return nil, errf("%v", err)
	}
	return c, nil
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
// returns output codes (N, Out, OH, OW) under the output params.
func (c *IntConv2D) Forward(x *QTensor) (*QTensor, error) {
	if len(x.Shape) != 4 || x.Shape[1] != c.inC || len(x.Data) != tensor.Size(x.Shape) {
		return nil, fmt.Errorf("quant: integer conv %q: %w: input %v, want (N, %d, H, W)", c.name, tensor.ErrShape, x.Shape, c.inC)
	}
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh := (h+2*c.pad-c.k)/c.stride + 1
	ow := (w+2*c.pad-c.k)/c.stride + 1
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("quant: integer conv %q: %w: input %v too small for kernel %d", c.name, tensor.ErrShape, x.Shape, c.k)
	}
	patch := c.inC * c.k * c.k
	rows := n * oh * ow
	c.col = resize(c.col, rows*patch)
	c.rowSums = resize(c.rowSums, rows)
	c.acc = resize(c.acc, rows*c.outC)
	// The input as uint8 once, then im2col as [pixel, patch] by row
	// segments, padding with the input zero point (real 0); samples in
	// parallel (each writes only its own rows).
	c.u8 = resize(c.u8, len(x.Data))
	for i, v := range x.Data {
		c.u8[i] = uint8(v + c.inOff)
	}
	pad := uint8(c.za)
	gemm.ParallelFor(n, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			c.im2colSample(b, h, w, oh, ow, pad)
		}
	})
	gemm.GemmU8S8(rows, c.outC, patch, c.col, patch, c.b, c.outC, c.acc, c.outC)
	gemm.RowSumsU8(rows, patch, c.col, patch, c.rowSums)
	out := &QTensor{Shape: []int{n, c.outC, oh, ow}, Data: make([]int32, rows*c.outC), Params: c.out}
	zo := c.out.ZeroPoint[0]
	kzz := int32(patch) * c.za
	gemm.ParallelFor(rows, 1024, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, pix := r/(oh*ow), r%(oh*ow)
			for o := 0; o < c.outC; o++ {
				// Σ (qa-za)(qb-zb) = C - zb·rowsum - za·colsum + k·za·zb
				acc := c.acc[r*c.outC+o] - c.zb[o]*c.rowSums[r] - c.za*c.colSums[o] + kzz*c.zb[o] + c.bias[o]
				v := requantize(acc, c.mult[o], c.shift[o]) + zo
				out.Data[(b*c.outC+o)*oh*ow+pix] = min(max(v, c.actMin), c.actMax)
			}
		}
	})
	return out, nil
}

// im2colSample writes the im2col rows of sample b.
func (c *IntConv2D) im2colSample(b, h, w, oh, ow int, pad uint8) {
	k, patch := c.k, c.inC*c.k*c.k
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			row := c.col[((b*oh+oy)*ow+ox)*patch:][:patch]
			x0 := ox*c.stride - c.pad
			kxLo, kxHi := max(0, -x0), min(k, w-x0)
			p := 0
			for ci := 0; ci < c.inC; ci++ {
				plane := c.u8[(b*c.inC+ci)*h*w:][:h*w]
				for ky := 0; ky < k; ky++ {
					seg := row[p : p+k]
					p += k
					iy := oy*c.stride + ky - c.pad
					if iy < 0 || iy >= h || kxLo >= kxHi {
						for j := range seg {
							seg[j] = pad
						}
						continue
					}
					for j := 0; j < kxLo; j++ {
						seg[j] = pad
					}
					copy(seg[kxLo:kxHi], plane[iy*w+x0+kxLo:iy*w+x0+kxHi])
					for j := kxHi; j < k; j++ {
						seg[j] = pad
					}
				}
			}
		}
	}
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
