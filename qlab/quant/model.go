package quant

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// InputName is the activation point of the model input in Model.Layers and
// exports.
const InputName = "input"

// Mode selects which tensors a fake-quantized model quantizes.
type Mode int

const (
	// Full quantizes weights (and biases, per the config) and activations.
	Full Mode = iota
	// WeightsOnly quantizes weights and biases; activations stay float.
	// Int32Bias biases stay float too, as they need an activation scale.
	WeightsOnly
	// ActivationsOnly quantizes the input and activations; weights and
	// biases stay float.
	ActivationsOnly
)

var modeNames = [...]string{"full", "weights-only", "activations-only"}

// String returns the mode's short name.
func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure Quantize and Evaluate. The zero value quantizes weights
// and activations with the zero Config, calibrating on every sample given,
// 64 at a time.
type Options struct {
	// Config is the scheme (see QUInt8, TFLiteInt8, FBGEMM).
	Config Config
	// Mode selects weights, activations or both.
	Mode Mode
	// Float names layers left in float32: their weights, biases and output
	// are not quantized.
	Float []string
	// BatchSize for calibration and evaluation; 0 means 64.
	BatchSize int
	// CalibrationSamples uses only the first n calibration samples; 0 means
	// all.
	CalibrationSamples int
	// PTQ selects post-training methods (batch-norm re-estimation,
	// cross-layer equalization, bias correction, AdaRound) applied around
	// quantization; the zero value applies none. See PTQ.
	PTQ PTQ
}

// LayerQuant describes how one leaf layer is quantized.
type LayerQuant struct {
	// Layer and Kind name the layer (Layer is InputName for the input).
	Layer, Kind string
	// Input is the activation point feeding the layer: InputName, another
	// layer's name, or "" when the input is not quantized (a float layer
	// upstream, or the pre-activation output of a fused conv+ReLU).
	Input string
	// Weight and Bias are the params of the layer's weight and bias (nil:
	// float or none). WeightShape is the weight tensor's shape.
	Weight, Bias *QParams
	WeightShape  []int
	// Output is the params of the layer's output (nil: not a quantization
	// point — a pass-through layer, fused with a following activation, or
	// left in float).
	Output *QParams
}

// Model is a fake-quantized copy of an nn.Model: weights quantized and
// dequantized in place, activations fake-quantized after each quantization
// point through Model.Observe. It simulates integer inference in float32.
//
// Quantization points follow TensorFlow's and PyTorch's placement: the
// input, and the output of every Conv2D, DepthwiseConv2D, Dense,
// BatchNorm2D, Add, AvgPool2D, GlobalAvgPool, ReLU and ReLU6, except that a
// layer directly followed (in the same list) by ReLU or ReLU6 is fused with
// it and only the activation's output is quantized. MaxPool2D, Flatten and
// Dropout pass quantized values through unchanged.
type Model struct {
	// Net is the quantized network (folded unless Config.NoFoldBN), in
	// inference mode. Forward it through Model.Forward, which also
	// quantizes the input.
	Net *nn.Model
	// Layers lists the input then every leaf layer in forward order.
	Layers []LayerQuant
	// Options as given (after defaults).
	Options Options

	input    *QParams
	acts     map[string]*QParams
	layerCfg *layerConfigs
	ptq      *PTQReport
	inBuf    tensor.Tensor
	// tap fake-quantizes every activation point's output in Net's forward
	// passes (nil while TrainQAT has it closed).
	tap *train.Tap
	// ranges are QAT's moving-average activation ranges.
	ranges actRanges
}

// plan records, per leaf, its input point and whether it is a point itself.
type plan struct {
	input map[string]string
	point map[string]bool
	order []nn.Layer
}

func isActivation(l nn.Layer) bool {
	k := l.Kind()
	return k == "ReLU" || k == "ReLU6"
}

// passThrough layers output a subset (or rearrangement) of their input.
func passThrough(l nn.Layer) bool {
	switch l.Kind() {
	case "MaxPool2D", "Flatten", "Dropout":
		return true
	}
	return false
}

// fusable layers are fused with a directly following activation.
func fusable(l nn.Layer) bool {
	switch l.Kind() {
	case "Conv2D", "DepthwiseConv2D", "Dense", "BatchNorm2D", "Add":
		return true
	}
	return false
}

func (p *plan) walk(list []nn.Layer, cur string, float map[string]bool) string {
	for i, l := range list {
		var next nn.Layer
		if i+1 < len(list) {
			next = list[i+1]
		}
		switch t := l.(type) {
		case *nn.Sequential:
			cur = p.walk(t.Children(), cur, float)
			continue
		case *nn.Residual:
			b := p.walk(t.Body(), cur, float)
			p.walk(t.Shortcut(), cur, float)
			cur = p.leaf(t.AddLayer(), b, next, float)
			continue
		}
		cur = p.leaf(l, cur, next, float)
	}
	return cur
}

func (p *plan) leaf(l nn.Layer, cur string, next nn.Layer, float map[string]bool) string {
	p.input[l.Name()] = cur
	p.order = append(p.order, l)
	switch {
	case float[l.Name()]:
		return ""
	case passThrough(l):
		return cur
	case next != nil && isActivation(next) && fusable(l):
		return ""
	}
	p.point[l.Name()] = true
	return l.Name()
}

// weightOf returns a layer's weight and bias parameters (nil when it has
// none).
func weightOf(l nn.Layer) (w, b *nn.Param) {
	switch t := l.(type) {
	case *nn.Conv2D:
		return t.Weight(), t.Bias()
	case *nn.DepthwiseConv2D:
		return t.Weight(), t.Bias()
	case *nn.Dense:
		return t.Weight(), t.Bias()
	}
	return nil, nil
}

func batchSize(o Options) int {
	if o.BatchSize <= 0 {
		return 64
	}
	return o.BatchSize
}

// Quantize builds a fake-quantized copy of m: folds batch norm (unless
// opt.Config.NoFoldBN), calibrates every activation point on calib (in
// inference mode, float weights, as PyTorch's and TFLite's post-training
// calibration do), then quantizes weights and biases. m is not modified.
// calib may be nil in WeightsOnly mode. Options.PTQ adds batch-norm
// re-estimation, cross-layer equalization, AdaRound and bias correction
// around these steps (see PTQ); Model.PTQ reports what they did.
func Quantize(ctx context.Context, m *nn.Model, calib *data.Dataset, opt Options) (*Model, error) {
	cfg := opt.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.PTQ.active() {
		return quantizePTQ(ctx, m, calib, opt)
	}
	if opt.Mode < Full || opt.Mode > ActivationsOnly {
		return nil, fmt.Errorf("%w: unknown mode %v", ErrConfig, opt.Mode)
	}
	var fm *nn.Model
	var err error
	if cfg.NoFoldBN {
		fm, err = m.Clone()
		if err == nil {
			fm.Eval()
		}
	} else {
		fm, err = FoldBatchNorm(m)
	}
	if err != nil {
		return nil, fmt.Errorf("quant: model %q: %w", m.Name(), err)
	}
	lc, err := cfg.resolve(fm)
	if err != nil {
		return nil, fmt.Errorf("quant: model %q: %w", m.Name(), err)
	}
	float := map[string]bool{}
	for _, n := range lc.floats() {
		float[n] = true
	}
	for _, n := range opt.Float {
		if fm.Layer(n) == nil && m.Layer(n) == nil {
			return nil, fmt.Errorf("quant: model %q: Float names unknown layer %q", m.Name(), n)
		}
		float[n] = true
	}
	p := &plan{input: map[string]string{}, point: map[string]bool{}}
	p.walk(fm.TopLayers(), InputName, float)

	q := &Model{Net: fm, Options: opt, acts: map[string]*QParams{}, layerCfg: lc}
	quantActs := opt.Mode != WeightsOnly && q.anyActs(p)
	if quantActs {
		if err := q.calibrate(ctx, fm, calib, p); err != nil {
			return nil, fmt.Errorf("quant: model %q: %w", m.Name(), err)
		}
	}
	q.Layers = append(q.Layers, LayerQuant{Layer: InputName, Kind: "Input", Output: q.input})
	for _, l := range p.order {
		lq := LayerQuant{Layer: l.Name(), Kind: l.Kind(), Input: p.input[l.Name()], Output: q.acts[l.Name()]}
		if !quantActs || !q.quantized(lq.Input) {
			lq.Input = ""
		}
		if w, b := weightOf(l); w != nil && !float[l.Name()] && opt.Mode != ActivationsOnly {
			lq.WeightShape = append([]int(nil), w.Value.Shape...)
			if err := q.quantizeParams(&lq, w, b); err != nil {
				return nil, fmt.Errorf("quant: model %q: layer %q: %w", m.Name(), l.Name(), err)
			}
		}
		q.Layers = append(q.Layers, lq)
	}
	q.openTap()
	return q, nil
}

// calibrate runs calib through fm with an observer on every point.
func (q *Model) calibrate(ctx context.Context, fm *nn.Model, calib *data.Dataset, p *plan) error {
	if calib == nil || calib.Len() == 0 {
		return fmt.Errorf("%w: empty calibration dataset", ErrNoData)
	}
	var in *Observer
	var err error
	if ac := q.actConfig(InputName); !ac.Float {
		if in, err = NewObserver(InputName, ac); err != nil {
			return err
		}
	}
	obs := map[string]*Observer{}
	for name := range p.point {
		if ac := q.actConfig(name); !ac.Float {
			if obs[name], err = NewObserver(name, ac); err != nil {
				return err
			}
		}
	}
	oo := train.ObserveOptions{BatchSize: batchSize(q.Options), Samples: q.Options.CalibrationSamples}
	if in != nil {
		oo.Input = in.Observe
	}
	err = train.Observe(ctx, fm, calib, oo, func(l nn.Layer, out *tensor.Tensor) error {
		if o := obs[l.Name()]; o != nil {
			return o.Observe(out)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	if in != nil {
		if q.input, err = in.QParams(); err != nil {
			return err
		}
	}
	for name, o := range obs {
		if q.acts[name], err = o.QParams(); err != nil {
			return err
		}
	}
	return nil
}

// quantizeParams fake-quantizes a layer's weight and bias in place and
// records their params.
func (q *Model) quantizeParams(lq *LayerQuant, w, b *nn.Param) error {
	cfg := q.config(lq.Layer)
	if !cfg.Weights.Float {
		o, err := NewObserver(w.Name, cfg.Weights)
		if err != nil {
			return err
		}
		if err := o.Observe(w.Value); err != nil {
			return err
		}
		if lq.Weight, err = o.QParams(); err != nil {
			return err
		}
		if err := lq.Weight.FakeQuant(w.Value, w.Value); err != nil {
			return fmt.Errorf("weight %q: %w", w.Name, err)
		}
	}
	return q.quantizeBias(lq, b)
}

// quantizeBias fake-quantizes a layer's bias in place (after its weight
// params are set) and records its params.
func (q *Model) quantizeBias(lq *LayerQuant, b *nn.Param) error {
	cfg := q.config(lq.Layer)
	if b == nil || cfg.Biases.Float {
		return nil
	}
	if cfg.Biases.Int32Bias {
		in := q.input
		if lq.Input != InputName {
			in = q.acts[lq.Input]
		}
		if in == nil || lq.Weight == nil || q.Options.Mode != Full {
			return nil // no integer accumulator scale: the bias stays float
		}
		bq, err := BiasQParams(in, lq.Weight)
		if err != nil {
			return fmt.Errorf("bias %q: %w", b.Name, err)
		}
		lq.Bias = bq
	} else {
		o, err := NewObserver(b.Name, cfg.Biases)
		if err != nil {
			return err
		}
		if err := o.Observe(b.Value); err != nil {
			return err
		}
		if lq.Bias, err = o.QParams(); err != nil {
			return err
		}
	}
	if err := lq.Bias.FakeQuant(b.Value, b.Value); err != nil {
		return fmt.Errorf("bias %q: %w", b.Name, err)
	}
	return nil
}

// openTap attaches the activations' fake quantization to q.Net.
func (q *Model) openTap() {
	q.tap = train.Attach(q.Net, q.quantizeAct)
}

// quantizeAct fake-quantizes out in place when l is an activation point.
func (q *Model) quantizeAct(l nn.Layer, out *tensor.Tensor) error {
	if p := q.acts[l.Name()]; p != nil {
		if err := p.FakeQuant(out, out); err != nil {
			return fmt.Errorf("quant: layer %q output: %w", l.Name(), err)
		}
	}
	return nil
}

// closeTap detaches it.
func (q *Model) closeTap() {
	if q.tap != nil {
		q.tap.Close()
		q.tap = nil
	}
}

// Forward runs x (N, input shape...) through the quantized network,
// quantizing the input first. The output is owned by the network.
func (q *Model) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	in := x
	if q.input != nil {
		q.inBuf.Resize(x.Shape...)
		if err := q.input.FakeQuant(&q.inBuf, x); err != nil {
			return nil, fmt.Errorf("quant: input: %w", err)
		}
		in = &q.inBuf
	}
	y, err := q.Net.Forward(in)
	if q.tap != nil {
		if terr := q.tap.Err(); terr != nil {
			return nil, terr
		}
	}
	if err != nil {
		return nil, err
	}
	return y, nil
}

// Layer returns the quantization record of the named layer (InputName for
// the input), or nil.
func (q *Model) Layer(name string) *LayerQuant {
	for i := range q.Layers {
		if q.Layers[i].Layer == name {
			return &q.Layers[i]
		}
	}
	return nil
}

// Report compares a float model with its fake-quantized copy on a test set.
type Report struct {
	Model   string
	Mode    Mode
	Samples int
	// Accuracy in [0, 1] and mean softmax cross-entropy loss.
	FloatAccuracy, FloatLoss float64
	QuantAccuracy, QuantLoss float64
}

// String formats the report as one line.
func (r *Report) String() string {
	return fmt.Sprintf("%s (%s, %d samples): FP32 acc %.4f loss %.4f | quantized acc %.4f loss %.4f",
		r.Model, r.Mode, r.Samples, r.FloatAccuracy, r.FloatLoss, r.QuantAccuracy, r.QuantLoss)
}

// Evaluate quantizes m (see Quantize) with calib and measures the float and
// the quantized model on test, both in inference mode. m's mode is
// restored afterwards.
func Evaluate(ctx context.Context, m *nn.Model, calib, test *data.Dataset, opt Options) (*Report, error) {
	q, err := Quantize(ctx, m, calib, opt)
	if err != nil {
		return nil, err
	}
	r := &Report{Model: m.Name(), Mode: opt.Mode}
	fm, err := train.Evaluate(ctx, m, test, batchSize(opt))
	if err != nil {
		return nil, fmt.Errorf("quant: evaluating float %q: %w", m.Name(), err)
	}
	qm, err := train.Evaluate(ctx, q, test, batchSize(opt))
	if err != nil {
		return nil, fmt.Errorf("quant: evaluating quantized %q: %w", m.Name(), err)
	}
	r.Samples, r.FloatAccuracy, r.FloatLoss = fm.N, fm.Accuracy, fm.Loss
	r.QuantAccuracy, r.QuantLoss = qm.Accuracy, qm.Loss
	return r, nil
}

// String returns a text table of the quantization: one row per layer with
// its input point, weight params and output params.
func (q *Model) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "layer\tkind\tinput\tweight\toutput\n")
	short := func(p *QParams) string {
		switch {
		case p == nil:
			return "float"
		case p.Axis < 0:
			return fmt.Sprintf("s=%.4g z=%d [%d,%d]", p.Scale[0], p.ZeroPoint[0], p.QMin, p.QMax)
		}
		lo, hi := p.Scale[0], p.Scale[0]
		for _, s := range p.Scale {
			lo, hi = min(lo, s), max(hi, s)
		}
		return fmt.Sprintf("%d ch s∈[%.3g,%.3g] [%d,%d]", len(p.Scale), lo, hi, p.QMin, p.QMax)
	}
	for _, l := range q.Layers {
		weight := "-"
		if l.WeightShape != nil {
			weight = short(l.Weight)
		}
		out := short(l.Output)
		if l.Output == nil {
			out = "-"
		}
		in := l.Input
		if in == "" {
			in = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.Layer, l.Kind, in, weight, out)
	}
	w.Flush()
	return b.String()
}
