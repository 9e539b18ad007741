package sweep

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/qlab-dev/qlab/qlab/figures"
)

// AccuracyBars returns the bars of figures.AccuracyBars: per (arch, init)
// the FP32 accuracy ("FP32") and the quantized accuracy under each config
// (named by the config), as percentages, each with the half-width of its
// Student-t interval at level (0 means 0.95; 0 with a single seed).
// FP32 bars come from the first config's rows (FP32 does not depend on the
// config).
func (r *Results) AccuracyBars(lvl float64) ([]figures.AccuracyBar, error) {
	var out []figures.AccuracyBar
	fp32Done := map[[2]string]bool{}
	half := func(x []float64) (float64, float64, error) {
		iv, err := MeanCI(x, lvl)
		if err != nil {
			return 0, 0, err
		}
		h := iv.HalfWidth()
		if math.IsNaN(h) {
			h = 0
		}
		return 100 * iv.Mean, 100 * h, nil
	}
	for _, c := range r.cells() {
		k := [2]string{c.arch, c.init}
		if !fp32Done[k] {
			fp32Done[k] = true
			m, h, err := half(c.fp32)
			if err != nil {
				return nil, fmt.Errorf("sweep: %s/%s: %w", c.arch, c.init, err)
			}
			out = append(out, figures.AccuracyBar{Arch: c.arch, Init: c.init, Precision: "FP32", Mean: m, CI: h})
		}
		m, h, err := half(c.quant)
		if err != nil {
			return nil, fmt.Errorf("sweep: %s/%s/%s: %w", c.arch, c.init, c.config, err)
		}
		out = append(out, figures.AccuracyBar{Arch: c.arch, Init: c.init, Precision: c.config, Mean: m, CI: h})
	}
	return out, nil
}

// AccuracyFigure draws AccuracyBars(lvl) with figures.AccuracyBars.
func (r *Results) AccuracyFigure(lvl float64, opts figures.BarOptions) (*figures.Figure, error) {
	bars, err := r.AccuracyBars(lvl)
	if err != nil {
		return nil, err
	}
	return figures.AccuracyBars(bars, opts)
}

// LayerMatrix returns, for one architecture, the mean over seeds of a
// numeric column of Layers (e.g. "weight_std", "act_max",
// "quint8_weight_sqnr_db") as z[init][layer], and marks[init][layer] true
// where a paired t-test against the first initializer (over the seeds both
// have) gives p < alpha (0 means 0.05). The first initializer's row has no
// marks. z and marks are what figures.Heatmap draws.
func (r *Results) LayerMatrix(arch, column string, alpha float64) (inits, layers []string, z [][]float64, marks [][]bool, err error) {
	if alpha == 0 {
		alpha = 0.05
	}
	lt, err := r.Layers()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ci := lt.ColumnIndex(column)
	if ci < 0 {
		return nil, nil, nil, nil, fmt.Errorf("sweep: layer matrix: no column %q (have %v)", column, lt.Columns)
	}
	// vals[init][layer index][seed]
	vals := map[string]map[int]map[int]float64{}
	for _, row := range lt.Rows {
		if row[0] != arch {
			continue
		}
		init, seed, li := row[1].(string), row[2].(int), row[3].(int)
		if vals[init] == nil {
			vals[init] = map[int]map[int]float64{}
			inits = append(inits, init)
		}
		if li == len(layers) {
			layers = append(layers, row[4].(string))
		}
		if vals[init][li] == nil {
			vals[init][li] = map[int]float64{}
		}
		v, ok := row[ci].(float64)
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("sweep: layer matrix: column %q is not a float column", column)
		}
		vals[init][li][seed] = v
	}
	if len(inits) == 0 {
		return nil, nil, nil, nil, fmt.Errorf("sweep: layer matrix: no records of architecture %q", arch)
	}
	z = make([][]float64, len(inits))
	marks = make([][]bool, len(inits))
	ref := vals[inits[0]]
	for i, init := range inits {
		z[i] = make([]float64, len(layers))
		marks[i] = make([]bool, len(layers))
		for li := range layers {
			var xs, a, b []float64
			// Seeds in order, so the sums (and figures) are reproducible.
			seeds := slices.Sorted(maps.Keys(vals[init][li]))
			for _, seed := range seeds {
				v := vals[init][li][seed]
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					xs = append(xs, v)
					if rv, ok := ref[li][seed]; ok && i > 0 && !math.IsNaN(rv) && !math.IsInf(rv, 0) {
						a, b = append(a, v), append(b, rv)
					}
				}
			}
			z[i][li] = math.NaN()
			if len(xs) > 0 {
				var s float64
				for _, v := range xs {
					s += v
				}
				z[i][li] = s / float64(len(xs))
			}
			if len(a) >= 2 {
				if tt, err := PairedTTest(a, b); err == nil && tt.P < alpha {
					marks[i][li] = true
				}
			}
		}
	}
	return inits, layers, z, marks, nil
}

// LayerHeatmap draws LayerMatrix as a figures.Heatmap (initializer x
// layer, "*" on cells that differ significantly from the first
// initializer). opts.Marks is replaced; an empty opts.Label becomes the
// column name.
func (r *Results) LayerHeatmap(arch, column string, opts figures.HeatmapOptions) (*figures.Figure, error) {
	inits, layers, z, marks, err := r.LayerMatrix(arch, column, 0)
	if err != nil {
		return nil, err
	}
	opts.Marks = marks
	if opts.Label == "" {
		opts.Label = column
	}
	return figures.Heatmap(inits, layers, z, opts)
}
