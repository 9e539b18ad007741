package sweep

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/qlab-dev/qlab/qlab/analysis"
)

// Results are the finished records of a sweep, in trial order, ready to
// aggregate. Accuracies in every table are fractions in [0, 1]; drop is
// FP32 accuracy minus quantized accuracy.
type Results struct {
	Records []*Record
	// Pending and Failed list the indices of trials without a record.
	Pending, Failed []int
}

// LoadResults reads the results store in dir (its spec.json and
// manifest, then every record).
func LoadResults(dir string) (*Results, error) {
	spec, err := LoadSpec(filepath.Join(dir, SpecFile))
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(spec, dir)
	if err != nil {
		return nil, err
	}
	return st.Results()
}

// Results reads the store's records.
func (s *Store) Results() (*Results, error) {
	recs, err := s.Records()
	if err != nil {
		return nil, err
	}
	r := &Results{Records: recs}
	for _, t := range s.trials {
		switch s.Status(t) {
		case Pending:
			r.Pending = append(r.Pending, t.Index)
		case Failed:
			r.Failed = append(r.Failed, t.Index)
		}
	}
	return r, nil
}

// Trials returns one row per (trial, quantization config): arch, init,
// seed, config, fp32_accuracy, quant_accuracy, drop, fp32_loss,
// quant_loss, id.
func (r *Results) Trials() *analysis.Table {
	t := analysis.NewTable("trials", "arch", "init", "seed", "config", "fp32_accuracy", "quant_accuracy", "drop", "fp32_loss", "quant_loss", "id")
	for _, rec := range r.Records {
		for _, q := range rec.Quant {
			t.Append(rec.Trial.Arch, rec.Trial.Init, int(rec.Trial.Seed), q.Config, rec.FP32.Accuracy, q.Accuracy, q.Drop, rec.FP32.Loss, q.Loss, rec.ID)
		}
	}
	return t
}

// cell is one (architecture, initializer, config) group, values by seed.
type cell struct {
	arch, init, config string
	seeds              []uint64
	fp32, quant, drop  []float64
}

// cells groups the records by (arch, init, config), in first-appearance
// order.
func (r *Results) cells() []*cell {
	var out []*cell
	idx := map[[3]string]*cell{}
	for _, rec := range r.Records {
		for _, q := range rec.Quant {
			k := [3]string{rec.Trial.Arch, rec.Trial.Init, q.Config}
			c := idx[k]
			if c == nil {
				c = &cell{arch: k[0], init: k[1], config: k[2]}
				idx[k] = c
				out = append(out, c)
			}
			c.seeds = append(c.seeds, rec.Trial.Seed)
			c.fp32 = append(c.fp32, rec.FP32.Accuracy)
			c.quant = append(c.quant, q.Accuracy)
			c.drop = append(c.drop, q.Drop)
		}
	}
	return out
}

// Summary returns, per (arch, init, config), the number of seeds n and the
// mean and Student-t confidence interval at level (0 means 0.95) of FP32
// accuracy, quantized accuracy and the drop: columns arch, init, config,
// n, fp32_mean, fp32_lo, fp32_hi, quant_mean, quant_lo, quant_hi,
// drop_mean, drop_lo, drop_hi (lo and hi NaN for a single seed).
func (r *Results) Summary(lvl float64) (*analysis.Table, error) {
	t := analysis.NewTable("summary", "arch", "init", "config", "n",
		"fp32_mean", "fp32_lo", "fp32_hi", "quant_mean", "quant_lo", "quant_hi", "drop_mean", "drop_lo", "drop_hi")
	for _, c := range r.cells() {
		row := []any{c.arch, c.init, c.config, len(c.seeds)}
		for _, x := range [][]float64{c.fp32, c.quant, c.drop} {
			iv, err := MeanCI(x, lvl)
			if err != nil {
				return nil, fmt.Errorf("sweep: summary of %s/%s/%s: %w", c.arch, c.init, c.config, err)
			}
			row = append(row, iv.Mean, iv.Lo, iv.Hi)
		}
		if err := t.Append(row...); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// PairedOptions configure Paired. The zero value gives 95% intervals from
// 10,000 bootstrap resamples seeded with 0.
type PairedOptions struct {
	// Level is the confidence level; 0 means 0.95.
	Level float64
	// Resamples is the bootstrap resample count; 0 means 10,000.
	Resamples int
	// Seed seeds the bootstrap (each comparison draws from its own stream
	// derived from Seed and the comparison's position).
	Seed uint64
}

// Paired compares every pair of initializers (a, b) of each
// (architecture, config) over the seeds both have, for each metric
// (fp32, quant, drop): mean difference a - b, paired t statistic, degrees
// of freedom, two-sided p-value, and the percentile bootstrap interval of
// the mean difference. Columns: arch, config, metric, init_a, init_b, n,
// mean_diff, t, df, p, boot_lo, boot_hi. Pairs with fewer than two common
// seeds are left out.
func (r *Results) Paired(opts PairedOptions) (*analysis.Table, error) {
	t := analysis.NewTable("paired", "arch", "config", "metric", "init_a", "init_b", "n", "mean_diff", "t", "df", "p", "boot_lo", "boot_hi")
	cells := r.cells()
	k := uint64(0)
	for i, a := range cells {
		for _, b := range cells[i+1:] {
			if a.arch != b.arch || a.config != b.config || a.init == b.init {
				continue
			}
			pos := map[uint64]int{}
			for j, s := range b.seeds {
				pos[s] = j
			}
			var ia, ib []int
			for j, s := range a.seeds {
				if jb, ok := pos[s]; ok {
					ia, ib = append(ia, j), append(ib, jb)
				}
			}
			if len(ia) < 2 {
				continue
			}
			for _, m := range []struct {
				name string
				x, y []float64
			}{{"fp32", a.fp32, b.fp32}, {"quant", a.quant, b.quant}, {"drop", a.drop, b.drop}} {
				xa, xb, d := make([]float64, len(ia)), make([]float64, len(ia)), make([]float64, len(ia))
				for j := range ia {
					xa[j], xb[j] = m.x[ia[j]], m.y[ib[j]]
					d[j] = xa[j] - xb[j]
				}
				tt, err := PairedTTest(xa, xb)
				if err != nil {
					return nil, fmt.Errorf("sweep: %s/%s %s vs %s: %w", a.arch, a.config, a.init, b.init, err)
				}
				bs, err := BootstrapMeanCI(d, opts.Level, opts.Resamples, opts.Seed+k)
				if err != nil {
					return nil, err
				}
				k++
				if err := t.Append(a.arch, a.config, m.name, a.init, b.init, len(ia), tt.MeanDiff, tt.T, tt.DF, tt.P, bs.Lo, bs.Hi); err != nil {
					return nil, err
				}
			}
		}
	}
	return t, nil
}

// Layers returns the per-layer records of every trial aligned across the
// grid: one row per (trial, layer) with columns arch, init, seed,
// layer_index (position in the network, the same for every trial of an
// architecture), layer, kind, has_weight, weight_min, weight_max,
// weight_std, act_min, act_max, and per quantization config c a column
// "<c>_weight_sqnr_db" (10 log10(power/MSE) of the folded, quantized
// weight; NaN without a weight, +Inf when exact).
func (r *Results) Layers() (*analysis.Table, error) {
	var configs []string
	seen := map[string]bool{}
	for _, rec := range r.Records {
		for _, q := range rec.Quant {
			if !seen[q.Config] {
				seen[q.Config] = true
				configs = append(configs, q.Config)
			}
		}
	}
	cols := []string{"arch", "init", "seed", "layer_index", "layer", "kind", "has_weight", "weight_min", "weight_max", "weight_std", "act_min", "act_max"}
	for _, c := range configs {
		cols = append(cols, c+"_weight_sqnr_db")
	}
	t := analysis.NewTable("layers", cols...)
	for _, rec := range r.Records {
		for i, l := range rec.Layers {
			row := []any{rec.Trial.Arch, rec.Trial.Init, int(rec.Trial.Seed), i, l.Layer, l.Kind, l.HasWeight,
				l.WeightMin, l.WeightMax, l.WeightStd, l.ActMin, l.ActMax}
			for _, c := range configs {
				v := math.NaN()
				if mse, ok := l.WeightMSE[c]; ok {
					v = 10 * math.Log10(l.WeightPower[c]/mse)
				}
				row = append(row, v)
			}
			if err := t.Append(row...); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// LayerSummary averages one numeric column of Layers over seeds: one row
// per (arch, layer, init) in network order with columns arch,
// layer_index, layer, init, n, mean, lo, hi (Student-t interval at level,
// 0 meaning 0.95; NaN values are left out). Its (layer x init) means are
// what a heatmap of the metric draws.
func (r *Results) LayerSummary(column string, lvl float64) (*analysis.Table, error) {
	lt, err := r.Layers()
	if err != nil {
		return nil, err
	}
	ci := lt.ColumnIndex(column)
	if ci < 0 {
		return nil, fmt.Errorf("sweep: layer summary: no column %q (have %v)", column, lt.Columns)
	}
	type key struct {
		arch  string
		index int
		init  string
	}
	var order []key
	names := map[key]string{}
	vals := map[key][]float64{}
	for _, row := range lt.Rows {
		k := key{row[0].(string), row[3].(int), row[1].(string)}
		if _, ok := names[k]; !ok {
			order = append(order, k)
			names[k] = row[4].(string)
		}
		var v float64
		switch x := row[ci].(type) {
		case float64:
			v = x
		case int:
			v = float64(x)
		default:
			return nil, fmt.Errorf("sweep: layer summary: column %q is not numeric (%T)", column, row[ci])
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals[k] = append(vals[k], v)
		}
	}
	// Network order within each architecture, initializers in first
	// appearance order within a layer.
	var sorted []key
	done := map[key]bool{}
	for _, k := range order {
		if done[k] {
			continue
		}
		for _, k2 := range order {
			if k2.arch == k.arch && k2.index == k.index && !done[k2] {
				sorted = append(sorted, k2)
				done[k2] = true
			}
		}
	}
	t := analysis.NewTable("layer_summary_"+column, "arch", "layer_index", "layer", "init", "n", "mean", "lo", "hi")
	for _, k := range sorted {
		iv := Interval{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
		if len(vals[k]) > 0 {
			if iv, err = MeanCI(vals[k], lvl); err != nil {
				return nil, err
			}
		}
		if err := t.Append(k.arch, k.index, names[k], k.init, len(vals[k]), iv.Mean, iv.Lo, iv.Hi); err != nil {
			return nil, err
		}
	}
	return t, nil
}
