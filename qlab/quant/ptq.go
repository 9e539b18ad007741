package quant

import (
	"context"
	"fmt"
	"strings"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// BiasCorrection selects the bias-correction method of PTQ.
type BiasCorrection int

const (
	// NoBiasCorrection leaves biases as quantized (the zero value).
	NoBiasCorrection BiasCorrection = iota
	// EmpiricalBiasCorrection runs the calibration data through the float
	// and the quantized model and, layer by layer in forward order,
	// subtracts from each bias the difference of the two models' mean
	// output per channel (with the corrections of earlier layers already
	// in place, as AIMET's empirical bias correction does), so the
	// quantized layer's expected output equals the float layer's on the
	// calibration data.
	EmpiricalBiasCorrection
	// AnalyticBiasCorrection is Nagel et al.'s data-free correction: the
	// expected input of a layer fed (through ReLU/ReLU6) by a layer with
	// batch norm is taken from the batch norm's beta and gamma as the mean
	// of a clipped Gaussian, and the bias absorbs the weight error times
	// that mean, b −= (W_q − W)·E[x]. Layers without such an input (the
	// first layer, layers after pooling or a residual Add) are left as they
	// are and listed in PTQReport.Skipped.
	AnalyticBiasCorrection
)

var biasCorrectionNames = [...]string{"none", "empirical", "analytic"}

// String returns the method's short name.
func (b BiasCorrection) String() string {
	if b >= 0 && int(b) < len(biasCorrectionNames) {
		return biasCorrectionNames[b]
	}
	return fmt.Sprintf("BiasCorrection(%d)", int(b))
}

// PTQ selects the post-training methods Quantize applies around plain
// quantization, in this order: batch-norm re-estimation, folding,
// cross-layer equalization (with high-bias absorption), AdaRound instead of
// rounding to nearest, bias correction. The zero value applies none.
type PTQ struct {
	// ReestimateBN re-estimates batch-norm statistics on this many batches
	// of the calibration data (see ReestimateBN) before folding; 0 keeps
	// the trained statistics, -1 uses every calibration sample.
	ReestimateBN int
	// Equalize applies cross-layer equalization (see Equalize) with CLE.
	Equalize bool
	CLE      CLEOptions
	// BiasCorrection corrects the biases after the weights are quantized.
	BiasCorrection BiasCorrection
	// AdaRound learns each weight's rounding direction (see AdaRound)
	// instead of rounding to nearest.
	AdaRound        bool
	AdaRoundOptions AdaRoundOptions
}

func (p PTQ) active() bool {
	return p.ReestimateBN != 0 || p.Equalize || p.BiasCorrection != NoBiasCorrection || p.AdaRound
}

// String names the methods, e.g. "cle+bc" ("plain" for none), in the
// syntax ParsePTQ reads.
func (p PTQ) String() string {
	var parts []string
	if p.ReestimateBN != 0 {
		parts = append(parts, "bn")
	}
	if p.Equalize {
		parts = append(parts, "cle")
	}
	if p.AdaRound {
		if it := p.AdaRoundOptions.Iterations; it > 0 {
			parts = append(parts, fmt.Sprintf("adaround(%d)", it))
		} else {
			parts = append(parts, "adaround")
		}
	}
	switch p.BiasCorrection {
	case EmpiricalBiasCorrection:
		parts = append(parts, "bc")
	case AnalyticBiasCorrection:
		parts = append(parts, "abc")
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, "+")
}

// ParsePTQ reads a method combination written as names joined by "+":
// "plain" (or "none", ""), "bn" (batch-norm re-estimation on every
// calibration sample), "cle" (equalization with bias absorption), "bc"
// (empirical bias correction), "abc" (analytic bias correction),
// "adaround" (or "adaround(N)" for N iterations per layer). E.g.
// "cle+bc", "bn+cle+adaround(200)". Other settings keep their defaults.
func ParsePTQ(s string) (PTQ, error) {
	var p PTQ
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "plain" || s == "none" {
		return p, nil
	}
	for _, part := range strings.Split(s, "+") {
		switch strings.TrimSpace(part) {
		case "bn":
			p.ReestimateBN = -1
		case "cle":
			p.Equalize = true
		case "bc":
			p.BiasCorrection = EmpiricalBiasCorrection
		case "abc":
			p.BiasCorrection = AnalyticBiasCorrection
		case "adaround":
			p.AdaRound = true
		default:
			var it int
			if n, err := fmt.Sscanf(strings.TrimSpace(part), "adaround(%d)", &it); err == nil && n == 1 && it > 0 && strings.HasSuffix(strings.TrimSpace(part), ")") {
				p.AdaRound, p.AdaRoundOptions.Iterations = true, it
				continue
			}
			return PTQ{}, fmt.Errorf("%w: unknown PTQ method %q in %q (known: plain, bn, cle, bc, abc, adaround, adaround(N))", ErrConfig, part, s)
		}
	}
	return p, nil
}

// PTQReport says what the PTQ methods did to a quantized model.
type PTQReport struct {
	// Methods is PTQ.String() of what ran.
	Methods string
	// Equalized is the equalization result (nil without Equalize); its
	// Model is the float model that was quantized.
	Equalized *Equalized
	// Biases lists the per-channel bias shifts of bias correction.
	Biases []BiasShift
	// Skipped names layers a method left alone, with the reason.
	Skipped []string
	// AdaRound has one row per layer AdaRound rounded.
	AdaRound []AdaRoundLayer
}

// BiasShift is the correction applied to one layer's bias.
type BiasShift struct {
	Layer string
	// Shift[c] was subtracted from channel c's bias.
	Shift []float64
}

// PTQ returns what the post-training methods did (nil when Options.PTQ
// selected none).
func (q *Model) PTQ() *PTQReport { return q.ptq }

// quantizePTQ is Quantize with opt.PTQ active.
func quantizePTQ(ctx context.Context, m *nn.Model, calib *data.Dataset, opt Options) (*Model, error) {
	p := opt.PTQ
	if opt.Config.NoFoldBN && (p.Equalize || p.BiasCorrection == AnalyticBiasCorrection) {
		return nil, fmt.Errorf("%w: equalization and analytic bias correction need batch-norm folding (Config.NoFoldBN is set)", ErrConfig)
	}
	if p.ReestimateBN < -1 {
		return nil, fmt.Errorf("%w: PTQ.ReestimateBN %d; want -1 (all), 0 (off) or a batch count", ErrConfig, p.ReestimateBN)
	}
	if p.BiasCorrection < NoBiasCorrection || p.BiasCorrection > AnalyticBiasCorrection {
		return nil, fmt.Errorf("%w: unknown bias correction %d", ErrConfig, int(p.BiasCorrection))
	}
	if (p.ReestimateBN != 0 || p.BiasCorrection == EmpiricalBiasCorrection || p.AdaRound) && (calib == nil || calib.Len() == 0) {
		return nil, fmt.Errorf("quant: model %q: PTQ %s needs calibration data", m.Name(), p)
	}
	rep := &PTQReport{Methods: p.String()}
	src := m
	if p.ReestimateBN != 0 {
		n := p.ReestimateBN
		if n < 0 {
			n = 0
		}
		var err error
		if src, err = ReestimateBN(ctx, m, calib, BNOptions{Batches: n, BatchSize: batchSize(opt)}); err != nil {
			return nil, err
		}
	}
	// Batch-norm statistics of each folded layer's output, for analytic
	// bias correction, updated by equalization below.
	stats := bnStats(src)
	var fm *nn.Model
	var err error
	switch {
	case p.Equalize:
		eq, err := Equalize(src, p.CLE)
		if err != nil {
			return nil, err
		}
		rep.Equalized = eq
		fm = eq.Model
		for _, pr := range eq.Pairs {
			st := stats[pr.First]
			if st == nil {
				continue
			}
			for c, s := range pr.Scales {
				st.gamma[c] /= s
				st.beta[c] /= s
				if pr.Absorbed != nil {
					st.beta[c] -= pr.Absorbed[c]
				}
			}
		}
	case opt.Config.NoFoldBN:
		if fm, err = src.Clone(); err == nil {
			fm.Eval()
		}
	default:
		fm, err = FoldBatchNorm(src)
	}
	if err != nil {
		return nil, fmt.Errorf("quant: model %q: %w", m.Name(), err)
	}
	inner := opt
	inner.PTQ = PTQ{}
	q, err := Quantize(ctx, fm, calib, inner)
	if err != nil {
		return nil, err
	}
	q.Options = opt
	q.ptq = rep
	if p.AdaRound {
		if err := q.adaRound(ctx, fm, calib, p.AdaRoundOptions); err != nil {
			return nil, err
		}
	}
	switch p.BiasCorrection {
	case EmpiricalBiasCorrection:
		err = q.correctBiasEmpirical(ctx, fm, calib)
	case AnalyticBiasCorrection:
		err = q.correctBiasAnalytic(fm, stats)
	}
	if err != nil {
		return nil, fmt.Errorf("quant: model %q: bias correction: %w", m.Name(), err)
	}
	return q, nil
}

// bnOut is the distribution batch norm gives a folded layer's output
// channels: mean beta, standard deviation |gamma|.
type bnOut struct{ gamma, beta []float64 }

func bnStats(m *nn.Model) map[string]*bnOut {
	bns := map[string]*nn.BatchNorm2D{}
	collectBNs(m.TopLayers(), bns)
	out := map[string]*bnOut{}
	for name, bn := range bns {
		st := &bnOut{}
		for c := range bn.Gamma().Value.Data {
			st.gamma = append(st.gamma, float64(bn.Gamma().Value.Data[c]))
			st.beta = append(st.beta, float64(bn.Beta().Value.Data[c]))
		}
		out[name] = st
	}
	return out
}
