package sweep

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/figures"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
)

// hasPlain reports whether plain quantization is on the trial's PTQ axis
// (always, without one).
func (t *TrialSpec) hasPlain() bool {
	if len(t.PTQ) == 0 {
		return true
	}
	for _, m := range t.PTQ {
		if m == "plain" {
			return true
		}
	}
	return false
}

// ptqEvaluate appends to rec one QuantEval per (config, non-plain PTQ
// method) of t, named "<config>+<methods>", evaluated with quant.Evaluate
// (Options.PTQ set; calibration and bias correction on calib).
func ptqEvaluate(ctx context.Context, t TrialSpec, model *nn.Model, calib, test *data.Dataset, fp32 float64, batch int, rec *Record) error {
	if batch <= 0 {
		batch = 256
	}
	for _, q := range t.Quant {
		for _, name := range t.PTQ {
			if name == "plain" {
				continue
			}
			p, err := quant.ParsePTQ(name)
			if err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
			p.AdaRoundOptions.Seed = t.Seed
			r, err := quant.Evaluate(ctx, model, calib, test, quant.Options{Config: *q.Config, BatchSize: batch, PTQ: p})
			if err != nil {
				return fmt.Errorf("sweep: quantization config %q with %s: %w", q.Name, name, err)
			}
			rec.Quant = append(rec.Quant, QuantEval{Config: q.Name + "+" + name, Method: name,
				Eval: Eval{Loss: r.QuantLoss, Accuracy: r.QuantAccuracy, N: r.Samples}, Drop: fp32 - r.QuantAccuracy})
		}
	}
	return nil
}

// ptqCell is one (arch, base config, method, init) group: quantized
// accuracy by seed.
type ptqCell struct {
	arch, config, method, init string
	acc                        map[uint64]float64
}

// ptqCells groups the records by (arch, base config, method, init), in
// first-appearance order; plain quantization is method "plain".
func (r *Results) ptqCells() []*ptqCell {
	var out []*ptqCell
	idx := map[[4]string]*ptqCell{}
	for _, rec := range r.Records {
		for _, q := range rec.Quant {
			method, base := "plain", q.Config
			if q.Method != "" {
				method, base = q.Method, strings.TrimSuffix(q.Config, "+"+q.Method)
			}
			k := [4]string{rec.Trial.Arch, base, method, rec.Trial.Init}
			c := idx[k]
			if c == nil {
				c = &ptqCell{arch: k[0], config: k[1], method: k[2], init: k[3], acc: map[uint64]float64{}}
				idx[k] = c
				out = append(out, c)
			}
			c.acc[rec.Trial.Seed] = q.Accuracy
		}
	}
	return out
}

// PTQBars returns the rows of figures.AccuracyBars for the PTQ axis: one
// panel per (architecture, base config) labelled "<arch> <config>", bars
// per initializer, one series per method ("plain", "cle", ...): quantized
// accuracy in percent, the mean over seeds with the half-width of its
// Student-t interval at level (0 means 0.95; 0 with a single seed).
func (r *Results) PTQBars(lvl float64) ([]figures.AccuracyBar, error) {
	var out []figures.AccuracyBar
	for _, c := range r.ptqCells() {
		iv, err := MeanCI(values(c.acc), lvl)
		if err != nil {
			return nil, fmt.Errorf("sweep: %s/%s/%s/%s: %w", c.arch, c.config, c.method, c.init, err)
		}
		h := 0.0
		if !math.IsNaN(iv.Lo) {
			h = 100 * iv.HalfWidth()
		}
		out = append(out, figures.AccuracyBar{Arch: c.arch + " " + c.config, Init: c.init, Precision: c.method, Mean: 100 * iv.Mean, CI: h})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sweep: no records")
	}
	return out, nil
}

// InitEffect measures how much the initializer still matters after each
// PTQ method: per (arch, base config, method), the initializers with the
// highest and the lowest mean quantized accuracy over seeds, the spread
// (best mean − worst mean), the Student-t interval at level (0 means 0.95)
// of the per-seed difference best − worst over the seeds both have, and
// the paired t-test's two-sided p-value. Columns: arch, config, method,
// inits, n, best_init, best_mean, worst_init, worst_mean, spread,
// spread_lo, spread_hi, p (interval and p NaN with fewer than two common
// seeds). A spread whose interval covers 0 is within seed noise. Note the
// best and worst are chosen on the same data, so the spread is biased
// upward; p answers "do these two differ", not "does any pair".
func (r *Results) InitEffect(lvl float64) (*analysis.Table, error) {
	rows, err := r.initEffect(lvl)
	if err != nil {
		return nil, err
	}
	t := analysis.NewTable("init_effect", "arch", "config", "method", "inits", "n", "best_init", "best_mean",
		"worst_init", "worst_mean", "spread", "spread_lo", "spread_hi", "p")
	for _, e := range rows {
		if err := t.Append(e.arch, e.config, e.method, e.inits, e.n, e.best, e.bestMean, e.worst, e.worstMean, e.bestMean-e.worstMean, e.lo, e.hi, e.p); err != nil {
			return nil, err
		}
	}
	return t, nil
}

type initEffectRow struct {
	arch, config, method, best, worst string
	inits, n                          int
	bestMean, worstMean, lo, hi, p    float64
}

func (r *Results) initEffect(lvl float64) ([]initEffectRow, error) {
	type key [3]string
	var order []key
	groups := map[key][]*ptqCell{}
	for _, c := range r.ptqCells() {
		k := key{c.arch, c.config, c.method}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var out []initEffectRow
	for _, k := range order {
		cs := groups[k]
		var best, worst *ptqCell
		var bm, wm float64
		for _, c := range cs {
			m, _ := meanVar(values(c.acc))
			if best == nil || m > bm {
				best, bm = c, m
			}
			if worst == nil || m < wm {
				worst, wm = c, m
			}
		}
		var a, b []float64
		for _, s := range sortedSeeds(best.acc) {
			if v, ok := worst.acc[s]; ok {
				a, b = append(a, best.acc[s]), append(b, v)
			}
		}
		e := initEffectRow{arch: k[0], config: k[1], method: k[2], best: best.init, worst: worst.init, inits: len(cs), n: len(a),
			bestMean: bm, worstMean: wm, lo: math.NaN(), hi: math.NaN(), p: math.NaN()}
		if len(a) >= 2 && best != worst {
			d := make([]float64, len(a))
			for i := range a {
				d[i] = a[i] - b[i]
			}
			iv, err := MeanCI(d, lvl)
			if err != nil {
				return nil, fmt.Errorf("sweep: init effect of %s/%s/%s: %w", k[0], k[1], k[2], err)
			}
			tt, err := PairedTTest(a, b)
			if err != nil {
				return nil, fmt.Errorf("sweep: init effect of %s/%s/%s: %w", k[0], k[1], k[2], err)
			}
			e.lo, e.hi, e.p = iv.Lo, iv.Hi, tt.P
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sweep: no records")
	}
	return out, nil
}

// InitEffectBars returns figures.AccuracyBars rows of InitEffect: one panel
// per (arch, base config), one bar per method, the spread in percentage
// points with the half-width of its interval (0 when it has none).
func (r *Results) InitEffectBars(lvl float64) ([]figures.AccuracyBar, error) {
	rows, err := r.initEffect(lvl)
	if err != nil {
		return nil, err
	}
	var out []figures.AccuracyBar
	for _, e := range rows {
		h := 0.0
		if !math.IsNaN(e.lo) {
			h = 100 * (e.hi - e.lo) / 2
		}
		out = append(out, figures.AccuracyBar{Arch: e.arch + " " + e.config, Init: e.method,
			Precision: "best − worst initializer", Mean: 100 * (e.bestMean - e.worstMean), CI: h})
	}
	return out, nil
}

func values(m map[uint64]float64) []float64 {
	var out []float64
	for _, s := range sortedSeeds(m) {
		out = append(out, m[s])
	}
	return out
}

func sortedSeeds(m map[uint64]float64) []uint64 {
	s := make([]uint64, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}
