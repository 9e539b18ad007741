package quant

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// Analysis is a per-layer quantization sensitivity report in the manner of
// AIMET's QuantAnalyzer: for every quantized layer, the accuracy with only
// it quantized and with all but it quantized, its ranges, SQNR and
// histograms. figures.QuantAnalysis draws it.
type Analysis struct {
	Model string
	// Scheme summarises the config analysed.
	Scheme string
	// Samples is the number of test samples behind each accuracy.
	Samples int
	// FloatAccuracy and QuantAccuracy are the accuracies with no layer and
	// every layer quantized.
	FloatAccuracy, QuantAccuracy float64
	// Layers has one row per unit (the input, then every layer with
	// quantized weights or output, its fused activation included) in
	// forward order.
	Layers []LayerSensitivity
}

// LayerSensitivity is one row of an Analysis.
type LayerSensitivity struct {
	// Layer and Kind name the unit (InputName for the input); Output is
	// the activation point that carries its quantized output (the fused
	// activation's name, or Layer).
	Layer, Kind, Output string
	// OnlyThis is the accuracy with only this unit quantized (weights,
	// bias and output; every other layer and the input in float);
	// AllButThis with every unit but this one quantized.
	OnlyThis, AllButThis float64
	// WeightMin and WeightMax are the (folded) float weight's range, NaN
	// without weights; OutputMin and OutputMax the float output's range on
	// the calibration data, NaN when the output is not quantized.
	WeightMin, WeightMax float64
	OutputMin, OutputMax float64
	// WeightSQNR is 10·log10(Σw²/Σ(w−w_q)²) in dB; OutputSQNR the
	// accumulated output SQNR with every layer quantized (as LayerErrors
	// computes it, on the calibration data). NaN where not applicable.
	WeightSQNR, OutputSQNR float64
	// WeightHist and OutputHist are histograms of the float weight and
	// the float output over their ranges (nil where not applicable).
	WeightHist, OutputHist *Hist
}

// Hist is a histogram with equal-width bins over [Lo, Hi].
type Hist struct {
	Lo, Hi float64
	Counts []int64
}

// histBins is the bin count of Analysis histograms.
const histBins = 64

func newHist(lo, hi float64) *Hist {
	if !(hi > lo) {
		hi = lo + 1e-12
	}
	return &Hist{Lo: lo, Hi: hi, Counts: make([]int64, histBins)}
}

func (h *Hist) add(vs []float32) {
	w := float64(len(h.Counts)) / (h.Hi - h.Lo)
	for _, v := range vs {
		i := int((float64(v) - h.Lo) * w)
		h.Counts[min(max(i, 0), len(h.Counts)-1)]++
	}
}

// Analyze quantizes m under opt (see Quantize; opt.Config's rules and
// opt.PTQ apply) and measures each unit's sensitivity on test: 2 + 2×units
// quantizations and test passes. m is not modified. Units a rule already
// keeps in float are not listed.
func Analyze(ctx context.Context, m *nn.Model, calib, test *data.Dataset, opt Options) (*Analysis, error) {
	full, err := Quantize(ctx, m, calib, opt)
	if err != nil {
		return nil, err
	}
	bs := batchSize(opt)
	a := &Analysis{Model: m.Name(), Scheme: schemeString(opt.Config.Weights.Float && opt.Config.Activations.Float, &opt.Config)}
	if opt.PTQ.active() {
		a.Scheme += " + " + opt.PTQ.String()
	}
	fm, err := train.Evaluate(ctx, m, test, bs)
	if err != nil {
		return nil, fmt.Errorf("quant: analyze %q: float: %w", m.Name(), err)
	}
	a.Samples, a.FloatAccuracy = fm.N, fm.Accuracy
	qm, err := train.Evaluate(ctx, full, test, bs)
	if err != nil {
		return nil, fmt.Errorf("quant: analyze %q: quantized: %w", m.Name(), err)
	}
	a.QuantAccuracy = qm.Accuracy
	// The float model the quantized one was made from.
	var ref *nn.Model
	switch {
	case full.ptq != nil && full.ptq.Equalized != nil:
		ref = full.ptq.Equalized.Model
	case opt.Config.NoFoldBN:
		if ref, err = m.Clone(); err == nil {
			ref.Eval()
		}
	default:
		ref, err = FoldBatchNorm(m)
	}
	if err != nil {
		return nil, err
	}
	owner := full.layerCfg.owner
	outputOf := map[string]string{}
	for act, o := range owner {
		outputOf[o] = act
	}
	rows := map[string]*LayerSensitivity{}
	for _, lq := range full.Layers {
		if _, fusedAct := owner[lq.Layer]; fusedAct {
			continue
		}
		out := lq.Layer
		if act, ok := outputOf[lq.Layer]; ok {
			out = act
		}
		op := full.Layer(out)
		if lq.Weight == nil && (op == nil || op.Output == nil) {
			continue
		}
		r := LayerSensitivity{Layer: lq.Layer, Kind: lq.Kind, Output: out, WeightMin: math.NaN(), WeightMax: math.NaN(),
			OutputMin: math.NaN(), OutputMax: math.NaN(), WeightSQNR: math.NaN(), OutputSQNR: math.NaN()}
		if lq.Weight != nil {
			wf, _ := weightOf(ref.Layer(lq.Layer))
			wq, _ := weightOf(full.Net.Layer(lq.Layer))
			lo, hi := math.Inf(1), math.Inf(-1)
			var sig, noise float64
			for i, v := range wf.Value.Data {
				x := float64(v)
				lo, hi = math.Min(lo, x), math.Max(hi, x)
				d := x - float64(wq.Value.Data[i])
				sig += x * x
				noise += d * d
			}
			r.WeightMin, r.WeightMax = lo, hi
			r.WeightSQNR = 10 * math.Log10(sig/noise)
			r.WeightHist = newHist(lo, hi)
			r.WeightHist.add(wf.Value.Data)
		}
		a.Layers = append(a.Layers, r)
	}
	for i := range a.Layers {
		rows[a.Layers[i].Output] = &a.Layers[i]
	}
	if err := outputStats(ctx, ref, calib, opt, rows); err != nil {
		return nil, fmt.Errorf("quant: analyze %q: %w", m.Name(), err)
	}
	cd := calib
	if opt.CalibrationSamples > 0 && cd != nil {
		cd = cd.Subset(opt.CalibrationSamples)
	}
	if errs, err := LayerErrors(ctx, m, full, cd); err == nil {
		for _, e := range errs {
			if r := rows[e.Layer]; r != nil {
				r.OutputSQNR = e.SQNR
			}
		}
	}
	assign, err := opt.Config.resolve(full.Net)
	if err != nil {
		return nil, err
	}
	for i := range a.Layers {
		r := &a.Layers[i]
		own, _ := assign.of(r.Layer)
		own.NoFoldBN, own.Layers = false, nil
		only := opt
		only.Config.Layers = append(append([]LayerRule(nil), opt.Config.Layers...),
			LayerRule{Float: true}, LayerRule{Pattern: InputName, Float: true}, LayerRule{Pattern: r.Layer, Config: &own})
		but := opt
		but.Config.Layers = append(append([]LayerRule(nil), opt.Config.Layers...), LayerRule{Pattern: r.Layer, Float: true})
		for _, v := range []struct {
			o   Options
			acc *float64
		}{{only, &r.OnlyThis}, {but, &r.AllButThis}} {
			q, err := Quantize(ctx, m, calib, v.o)
			if err != nil {
				return nil, fmt.Errorf("quant: analyze %q: layer %q: %w", m.Name(), r.Layer, err)
			}
			qm, err := train.Evaluate(ctx, q, test, bs)
			if err != nil {
				return nil, fmt.Errorf("quant: analyze %q: layer %q: %w", m.Name(), r.Layer, err)
			}
			*v.acc = qm.Accuracy
		}
	}
	return a, nil
}

// outputStats fills each row's float output range and histogram from two
// passes of the calibration data through ref.
func outputStats(ctx context.Context, ref *nn.Model, calib *data.Dataset, opt Options, rows map[string]*LayerSensitivity) error {
	if calib == nil {
		return nil
	}
	n, bs := opt.CalibrationSamples, batchSize(opt)
	in := rows[InputName]
	each := func(fn func(r *LayerSensitivity, v []float32)) error {
		opt := train.ObserveOptions{Samples: n, BatchSize: bs}
		if in != nil {
			opt.Input = func(x *tensor.Tensor) error {
				fn(in, x.Data)
				return nil
			}
		}
		return train.Observe(ctx, ref, calib, opt, func(l nn.Layer, out *tensor.Tensor) error {
			if r := rows[l.Name()]; r != nil {
				fn(r, out.Data)
			}
			return nil
		})
	}
	err := each(func(r *LayerSensitivity, v []float32) {
		for _, x := range v {
			f := float64(x)
			if !(f >= r.OutputMin) {
				r.OutputMin = math.Min(f, nanInf(r.OutputMin, 1))
			}
			if !(f <= r.OutputMax) {
				r.OutputMax = math.Max(f, nanInf(r.OutputMax, -1))
			}
		}
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !math.IsNaN(r.OutputMin) {
			r.OutputHist = newHist(r.OutputMin, r.OutputMax)
		}
	}
	return each(func(r *LayerSensitivity, v []float32) {
		if r.OutputHist != nil {
			r.OutputHist.add(v)
		}
	})
}

// nanInf maps NaN to ±Inf (sign s), so a NaN start loses every comparison.
func nanInf(x float64, s int) float64 {
	if math.IsNaN(x) {
		return math.Inf(s)
	}
	return x
}

// String formats the analysis as a text table, one row per unit.
func (a *Analysis) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s: FP32 %.2f%%, all quantized %.2f%% (%d samples)\n", a.Model, a.Scheme, 100*a.FloatAccuracy, 100*a.QuantAccuracy, a.Samples)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "layer\tkind\tonly this\tall but this\tweight range\tweight SQNR\toutput range\toutput SQNR\t\n")
	f := func(v float64, format string) string {
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf(format, v)
	}
	rng := func(lo, hi float64) string {
		if math.IsNaN(lo) {
			return "-"
		}
		return fmt.Sprintf("[%.3g, %.3g]", lo, hi)
	}
	for _, r := range a.Layers {
		fmt.Fprintf(w, "%s\t%s\t%.2f%%\t%.2f%%\t%s\t%s\t%s\t%s\t\n", r.Layer, r.Kind, 100*r.OnlyThis, 100*r.AllButThis,
			rng(r.WeightMin, r.WeightMax), f(r.WeightSQNR, "%.1f dB"), rng(r.OutputMin, r.OutputMax), f(r.OutputSQNR, "%.1f dB"))
	}
	w.Flush()
	return b.String()
}
