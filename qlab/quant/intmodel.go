package quant

import (
	"fmt"
	"runtime"

	"github.com/qlab-dev/qlab/qlab/internal/gemm"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// IntModel runs a fake-quantized Model with integer arithmetic only (after
// the input is quantized): 8-bit codes between layers, int32 accumulators,
// gemmlowp requantization. It covers Conv2D, DepthwiseConv2D and Dense
// (each with an optional fused ReLU/ReLU6), MaxPool2D, AvgPool2D,
// GlobalAvgPool, Flatten, Dropout, Sequential, and Residual blocks whose Add
// (optionally fused with a following activation) follows TFLite's integer
// Add — so RefNet-S/DWS, the VGG family, ResNets and MobileNetV2. Unfolded
// batch norm and standalone activations are not implemented (Integer
// returns an error naming the layer).
//
// Internally activations are uint8 in NHWC order and every layer reuses
// its buffers, so a forward at a batch size seen before allocates nothing.
// A batch of at least two samples per core runs sample-parallel: each
// sample goes through every layer on one core while its activations are
// in cache (see intStep).
// An IntModel is therefore not safe for concurrent use; build one per
// goroutine. Results do not depend on GOMAXPROCS.
type IntModel struct {
	input *QParams
	steps []intStep
	// outName names the layer whose output each step produces (a fused
	// activation's name when one is absorbed), for per-layer checks.
	outName map[intStep]string

	x    intAct
	out  QTensor
	xf   *tensor.Tensor
	bad  []int // per sample: index of the first NaN, or -1
	inFn func(lo, hi int)

	pad     *padder     // the first convolution's input plane, while Forward fills it
	hdr     intAct      // the input's shape when its codes live in pad only
	links   []planeLink // consecutive top-level steps, producer writing into the consumer's plane
	inPadFn func(lo, hi int)
	batchFn func(lo, hi int) // sampleChunk
}

// Integer builds the integer-only version of q. q must be Full mode with
// 8-bit per-tensor activations and 8-bit weights.
func (q *Model) Integer() (*IntModel, error) {
	if q.input == nil || q.Options.Mode != Full {
		return nil, fmt.Errorf("quant: integer model: needs a Full-mode model with quantized activations")
	}
	if err := q.checkInteger(); err != nil {
		return nil, err
	}
	if !is8Bit(q.input) {
		return nil, fmt.Errorf("quant: integer model: input params %v are not 8-bit per tensor", q.input)
	}
	names := map[intStep]string{}
	steps, err := q.intList(q.Net.TopLayers(), names)
	if err != nil {
		return nil, err
	}
	im := &IntModel{input: q.input, steps: steps, outName: names}
	im.inFn, im.inPadFn, im.batchFn = im.quantizeSamples, im.quantizePadded, im.sampleChunk
	im.links = findLinks(steps)
	return im, nil
}

// intList builds the integer steps of a list of layers, fusing each
// fusable layer with a directly following activation as Quantize did.
func (q *Model) intList(ls []nn.Layer, names map[intStep]string) ([]intStep, error) {
	var steps []intStep
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		// The record whose output a following activation may absorb.
		rec := q.Layer(l.Name())
		if r, ok := l.(*nn.Residual); ok {
			rec = q.Layer(r.AddLayer().Name())
		}
		act, actOut, outName := "", (*QParams)(nil), l.Name()
		if rec != nil {
			actOut, outName = rec.Output, rec.Layer
		}
		if i+1 < len(ls) && isActivation(ls[i+1]) && rec != nil && rec.Output == nil {
			if nx := q.Layer(ls[i+1].Name()); nx != nil && nx.Input == "" && nx.Output != nil {
				act, actOut, outName = nx.Kind, nx.Output, nx.Layer
				i++
			}
		}
		errf := func(format string, a ...any) error {
			return fmt.Errorf("quant: integer model: layer %q (%s): "+format, append([]any{l.Name(), l.Kind()}, a...)...)
		}
		if actOut != nil && !is8Bit(actOut) {
			return nil, errf("output params %v are not 8-bit per tensor", actOut)
		}
		switch t := l.(type) {
		case *nn.Sequential:
			sub, err := q.intList(t.Children(), names)
			if err != nil {
				return nil, err
			}
			steps = append(steps, sub...)
		case *nn.Residual:
			body, err := q.intList(t.Body(), names)
			if err != nil {
				return nil, err
			}
			sc, err := q.intList(t.Shortcut(), names)
			if err != nil {
				return nil, err
			}
			if actOut == nil {
				return nil, errf("add output not quantized")
			}
			cl, err := newOutClamp(actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			r := &residualStep{name: t.Name(), body: body, sc: sc, out: actOut, clamp: cl}
			r.fn = r.chunk
			steps = append(steps, r)
			names[r] = outName
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
			steps = append(steps, c)
			names[c] = outName
		case *nn.Dense:
			in, out := t.InOut()
			c, err := q.intWeighted(*rec, t.Weight(), t.Bias(), in, out, 1, 1, 0, actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			c.dense = true
			steps = append(steps, c)
			names[c] = outName
		case *nn.DepthwiseConv2D:
			d, err := q.intDepthwise(*rec, t, actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			steps = append(steps, d)
			names[d] = outName
		case *nn.MaxPool2D:
			k, s := t.KernelStride()
			p := &maxPoolStep{name: l.Name(), k: k, s: s}
			p.fn = p.chunk
			steps = append(steps, p)
			names[p] = outName
		case *nn.AvgPool2D, *nn.GlobalAvgPool:
			if actOut == nil {
				return nil, errf("output not quantized")
			}
			cl, err := newOutClamp(actOut, act)
			if err != nil {
				return nil, errf("%v", err)
			}
			p := &avgPoolStep{name: l.Name(), out: actOut, clamp: cl}
			if ap, ok := t.(*nn.AvgPool2D); ok {
				p.k, p.s = ap.KernelStride()
			} else {
				p.global = true
			}
			p.fn = p.chunk
			steps = append(steps, p)
			names[p] = outName
		case *nn.Flatten:
			f := &flattenStep{name: l.Name()}
			steps = append(steps, f)
			names[f] = outName
		case *nn.Dropout:
			// Inference: identity.
		default:
			return nil, errf("not implemented in integer inference")
		}
	}
	return steps, nil
}

// Forward quantizes x, (N, C, H, W) or (N, F), with the input params and
// runs every integer step. The result holds the last layer's output codes
// and params (Dequantize for real values); it belongs to im and is
// overwritten by the next Forward (Clone its Data to keep it).
func (im *IntModel) Forward(x *tensor.Tensor) (*QTensor, error) {
	if len(x.Shape) != 4 && len(x.Shape) != 2 || len(x.Data) != tensor.Size(x.Shape) {
		return nil, fmt.Errorf("quant: integer model input: %w: %v, want (N, C, H, W) or (N, F)", tensor.ErrShape, x.Shape)
	}
	n := x.Shape[0]
	im.x = intAct{n: n, c: x.Shape[1], h: 1, w: 1, flat: len(x.Shape) == 2, u: im.x.u, p: im.input, off: codeOffset(im.input)}
	if !im.x.flat {
		im.x.h, im.x.w = x.Shape[2], x.Shape[3]
	}
	im.bad = resize(im.bad, n)
	im.xf = x
	steps, in := im.steps, &im.x
	for _, l := range im.links {
		l.set(l.consumer)
		l.consumer.prefilled = true
	}
	if n >= 2*runtime.GOMAXPROCS(0) {
		return im.forwardSamples(x)
	}
	if c := im.firstDirect(); c != nil {
		// Quantize straight into the first convolution's padded plane.
		pd := &c.direct.in
		pd.size(n, im.x.h, im.x.w)
		im.pad = pd
		gemm.ParallelFor(n, 1, im.inPadFn)
		im.pad = nil
		pd.prefilled = true
		im.hdr = im.x
		im.hdr.u = nil
		y, err := c.run(&im.hdr)
		pd.prefilled = false
		if err == nil {
			err = im.inputNaN(x)
		}
		if err != nil {
			im.xf = nil
			im.unlink()
			return nil, err
		}
		steps, in = steps[1:], y
	} else {
		im.x.u = resize(im.x.u, len(x.Data))
		gemm.ParallelFor(n, 1, im.inFn)
		if err := im.inputNaN(x); err != nil {
			im.xf = nil
			im.unlink()
			return nil, err
		}
	}
	im.xf = nil
	y, err := runSteps(steps, in)
	im.unlink()
	if err != nil {
		return nil, err
	}
	y.toQTensor(&im.out)
	return &im.out, nil
}

// forwardSamples is Forward (links set) run sample-parallel: every step is
// planned for the batch, then chunks of samples go through the whole
// network, from quantizing their input to the last layer, on one
// ParallelFor. A chunk's activations stay in cache from layer to layer,
// and the cores meet once per forward rather than at every layer.
// Which samples share a chunk changes nothing in the result: every step
// computes each sample's output bytes from that sample's input bytes alone.
func (im *IntModel) forwardSamples(x *tensor.Tensor) (*QTensor, error) {
	n := im.x.n
	in := &im.x
	if c := im.firstDirect(); c != nil {
		pd := &c.direct.in
		im.pad = pd
		pd.prefilled = true
		im.hdr = im.x
		im.hdr.u = nil
		in = &im.hdr
	} else {
		im.x.u = resize(im.x.u, len(x.Data))
	}
	y, err := planSteps(im.steps, in)
	if err == nil {
		// One sample per chunk: its activations stay in L2 from layer to
		// layer, and a core that starts late or is preempted leaves the
		// other at most one sample to wait for at the end.
		gemm.ParallelFor(n, 1, im.batchFn)
		finishSteps(im.steps)
	}
	if im.pad != nil {
		im.pad.prefilled = false
		im.pad = nil
	}
	im.xf = nil
	im.unlink()
	if err != nil {
		return nil, err
	}
	if err := im.inputNaN(x); err != nil {
		return nil, err
	}
	y.toQTensor(&im.out)
	return &im.out, nil
}

// sampleChunk quantizes samples [lo, hi) of the input and runs them through
// every planned step.
func (im *IntModel) sampleChunk(lo, hi int) {
	if im.pad != nil {
		im.quantizePadded(lo, hi)
	} else {
		im.quantizeSamples(lo, hi)
	}
	for _, s := range im.steps {
		s.samples(lo, hi)
	}
}

// quantizeSamples quantizes samples [lo, hi) of im.xf into im.x (NHWC) as
// QParams.Quantize does, element for element.
func (im *IntModel) quantizeSamples(lo, hi int) {
	q, a := im.input, &im.x
	scale, zp := q.Scale[0], q.ZeroPoint[0]
	inv := 1 / scale
	nmin, nmax := tfNudged(scale, zp, q.QMin, q.QMax)
	hw, C := a.h*a.w, a.c
	for b := lo; b < hi; b++ {
		src, dst := im.xf.Data[b*hw*C:][:hw*C], a.u[b*hw*C:][:hw*C]
		im.bad[b] = -1
		for c := 0; c < C; c++ {
			for p := 0; p < hw; p++ {
				v := src[c*hw+p]
				if v != v {
					if im.bad[b] < 0 || c*hw+p < im.bad[b] {
						im.bad[b] = c*hw + p
					}
					continue
				}
				var code int32
				if q.Nudged {
					code = tfQuantizeValue(v, inv, nmin, nmax, q.QMin)
				} else {
					code = quantizeValue(v, inv, zp, q.QMin, q.QMax)
				}
				dst[p*C+c] = uint8(code + a.off)
			}
		}
	}
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
func (q *Model) intWeighted(lq LayerQuant, w, b *nn.Param, inC, outC, k, stride, pad int, out *QParams, act string) (*convStep, error) {
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
	return newConvStep(lq.Layer, inC, outC, k, stride, pad, in, wq, bias, out, act)
}

// intDepthwise builds the direct integer depthwise convolution of l.
func (q *Model) intDepthwise(lq LayerQuant, l *nn.DepthwiseConv2D, out *QParams, act string) (*dwStep, error) {
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
	wq, err := lq.Weight.Quantize(l.Weight().Value)
	if err != nil {
		return nil, err
	}
	bias, err := intBias(l.Bias(), in, lq.Weight)
	if err != nil {
		return nil, err
	}
	return newDWStep(lq.Layer, cfg.Channels, mult, k, stride, pad, in, wq, bias, out, act)
}

// firstDirect returns the first step when it is a direct convolution that
// reads a padded copy of the model's input (so Forward can quantize into
// that copy), else nil.
func (im *IntModel) firstDirect() *convStep {
	if im.x.flat || len(im.steps) == 0 {
		return nil
	}
	c, ok := im.steps[0].(*convStep)
	if !ok || c.direct == nil || c.dense || c.inC != im.x.c || c.in != im.input {
		return nil
	}
	if c.pad == 0 && c.direct.c4 == c.inC {
		return nil // read in place: nothing to copy into
	}
	return c
}

// inputNaN reports the first NaN quantizeSamples or quantizePadded found.
func (im *IntModel) inputNaN(x *tensor.Tensor) error {
	n := len(im.bad)
	for b, i := range im.bad {
		if i >= 0 {
			return fmt.Errorf("quant: integer model input: %w: NaN at element %d", ErrNaN, b*len(x.Data)/n+i)
		}
	}
	return nil
}

// quantizePadded quantizes samples [lo, hi) of im.xf as quantizeSamples
// does, writing each pixel's codes into the interior of im.pad's plane
// (c4 bytes per pixel; the padding channels and the border are the
// padder's). Planes of 4 bytes per pixel (up to 4 input channels, the
// usual image) take quantC4AVX512 where the CPU has it.
func (im *IntModel) quantizePadded(lo, hi int) {
	q, pd := im.input, im.pad
	scale, zp := q.Scale[0], q.ZeroPoint[0]
	inv := 1 / scale
	nmin, nmax := tfNudged(scale, zp, q.QMin, q.QMax)
	h, w, C, c4, wp := im.x.h, im.x.w, im.x.c, pd.c4, pd.wp
	off := uint8(codeOffset(q))
	hw := h * w
	for b := lo; b < hi; b++ {
		src := im.xf.Data[b*hw*C:][:hw*C]
		plane, base := pd.interior(b)
		im.bad[b] = -1
		if hasQuantC4AVX512 && c4 == 4 && C <= 4 {
			a := newQuantC4Args(q, h, w, C)
			a.src, a.dst, a.ldd = &src[0], &plane[base], wp*c4
			if quantC4AVX512(&a) == 0 {
				continue
			}
		}
		for c := 0; c < C; c++ {
			ch := src[c*hw : (c+1)*hw]
			for y := 0; y < h; y++ {
				row := ch[y*w : (y+1)*w]
				dst := plane[base+y*wp*c4+c:]
				_ = dst[(w-1)*c4]
				for i, v := range row {
					if v != v {
						if im.bad[b] < 0 || c*hw+y*w+i < im.bad[b] {
							im.bad[b] = c*hw + y*w + i
						}
						continue
					}
					var code int32
					if q.Nudged {
						code = tfQuantizeValue(v, inv, nmin, nmax, q.QMin)
					} else {
						code = quantizeValue(v, inv, zp, q.QMin, q.QMax)
					}
					dst[i*c4] = uint8(code) + off
				}
			}
		}
	}
}

// quantC4Args is the argument block of quantC4AVX512 (offsets in its
// comment). Torch rounding (tf 0): clamp(RoundToEven(float32(x*inv)) + zp,
// qmin, qmax), with x*inv first clamped to ±2^30 in float32 so that the
// conversion cannot overflow (a value beyond lands outside [qmin, qmax]
// either way). TensorFlow's (tf 1): trunc(float32(float32(clamp(x, nmin,
// nmax) - nmin) * inv) + 0.5) + qmin. Codes are stored plus the engine's
// offset, which zpo, qmino and qmaxo include.
type quantC4Args struct {
	src               *float32 // 0: channel 0, pixel (0, 0)
	dst               *uint8   // 8: pixel (0, 0)
	h, w, c           int      // 16, 24, 32
	plane             int      // 40: floats per channel
	ldd               int      // 48: bytes between rows of dst
	tf                int      // 56
	inv, nmin, nmax   float32  // 64, 68, 72
	_                 float32
	zpo, qmino, qmaxo int32 // 80, 84, 88
}

func newQuantC4Args(q *QParams, h, w, c int) quantC4Args {
	scale, zp := q.Scale[0], q.ZeroPoint[0]
	off := codeOffset(q)
	a := quantC4Args{h: h, w: w, c: c, plane: h * w, inv: 1 / scale, zpo: zp + off, qmino: q.QMin + off, qmaxo: q.QMax + off}
	if q.Nudged {
		a.tf = 1
		a.nmin, a.nmax = tfNudged(scale, zp, q.QMin, q.QMax)
	} else {
		a.nmin, a.nmax = -(1 << 30), 1<<30
	}
	return a
}

// unlink ends the links Forward set: every step writes its own y again.
func (im *IntModel) unlink() {
	for _, l := range im.links {
		l.set(nil)
		l.consumer.prefilled = false
	}
}
