package sweep

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

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
// layer, "*" on cells that differ from the first initializer's in a
// paired t-test at p < 0.05). Layers with no data for the column are left out rather
// than drawn as empty (or zero) columns: those whose every cell is NaN
// (e.g. SQNR columns on BN, ReLU and pooling layers) and, for weight
// columns ("weight_*", "*_weight_*"), those without a weight, whose
// weight fields read 0. It is an error when no layer is left.
// opts.Marks is replaced; an empty opts.Label becomes the column name.
func (r *Results) LayerHeatmap(arch, column string, opts figures.HeatmapOptions) (*figures.Figure, error) {
	inits, layers, z, marks, err := r.LayerMatrix(arch, column, 0.05)
	if err != nil {
		return nil, err
	}
	var weighted map[string]bool // layers of arch with a weight, for weight columns
	if strings.HasPrefix(column, "weight_") || strings.Contains(column, "_weight_") {
		lt, err := r.Layers()
		if err != nil {
			return nil, err
		}
		hw := lt.ColumnIndex("has_weight")
		weighted = map[string]bool{}
		for _, row := range lt.Rows {
			if row[0] == arch && row[hw] == true {
				weighted[row[4].(string)] = true
			}
		}
	}
	var keep []int
	for li, l := range layers {
		if weighted != nil && !weighted[l] {
			continue
		}
		for i := range inits {
			if !math.IsNaN(z[i][li]) {
				keep = append(keep, li)
				break
			}
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("sweep: layer heatmap: no layer of architecture %q has data for column %q", arch, column)
	}
	kept := make([]string, len(keep))
	for j, li := range keep {
		kept[j] = layers[li]
	}
	for i := range inits {
		zi, mi := make([]float64, len(keep)), make([]bool, len(keep))
		for j, li := range keep {
			zi[j], mi[j] = z[i][li], marks[i][li]
		}
		z[i], marks[i] = zi, mi
	}
	opts.Marks = marks
	if opts.Label == "" {
		opts.Label = column
	}
	return figures.Heatmap(inits, kept, z, opts)
}
