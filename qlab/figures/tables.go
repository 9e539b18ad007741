package figures

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/analysis"
)

// ErrorSeriesFromTables reads one ErrorSeries per model from
// analysis.LayerErrors tables: columns "isolated_<metric>" and
// "propagated_<metric>" (metric "sqnr", "mse" or "rmse_scale"), rows
// aligned by layer name on the first table's layers. Only rows marked
// quantized are kept (the others repeat their input's error).
func ErrorSeriesFromTables(models []string, tables []*analysis.Table, metric string) ([]string, []ErrorSeries, error) {
	if len(models) != len(tables) || len(tables) == 0 {
		return nil, nil, fmt.Errorf("figures: error series: %d model names for %d tables", len(models), len(tables))
	}
	first := tables[0]
	if first.ColumnIndex("quantized") >= 0 {
		first = first.Filter(func(r analysis.Row) bool { return r.Get("quantized") == true })
	}
	layers, err := first.Strings("layer")
	if err != nil {
		return nil, nil, fmt.Errorf("figures: error series: %w", err)
	}
	var series []ErrorSeries
	for i, t := range tables {
		s := ErrorSeries{Name: models[i]}
		for _, which := range []string{"isolated_", "propagated_"} {
			col := which + metric
			if t.ColumnIndex(col) < 0 {
				return nil, nil, fmt.Errorf("figures: error series: table of %q has no column %q", models[i], col)
			}
			vals := make([]float64, len(layers))
			for j, l := range layers {
				rows := t.Where("layer", l)
				if rows.Len() != 1 {
					return nil, nil, fmt.Errorf("figures: error series: table of %q has %d rows for layer %q", models[i], rows.Len(), l)
				}
				v, err := rows.Floats(col)
				if err != nil {
					return nil, nil, fmt.Errorf("figures: error series: %w", err)
				}
				vals[j] = v[0]
			}
			if which == "isolated_" {
				s.Isolated = vals
			} else {
				s.Propagated = vals
			}
		}
		series = append(series, s)
	}
	return layers, series, nil
}

// MatrixFromTables reads column col of several per-layer tables into a
// matrix z[model][layer] for Heatmap, layers taken from the first table
// (missing rows become NaN via analysis.Compare).
func MatrixFromTables(models []string, tables []*analysis.Table, col string) (layers []string, z [][]float64, err error) {
	c, err := analysis.Compare(models, tables, "layer")
	if err != nil {
		return nil, nil, fmt.Errorf("figures: %w", err)
	}
	if c.ColumnIndex(col) < 0 {
		return nil, nil, fmt.Errorf("figures: tables have no column %q", col)
	}
	if layers, err = tables[0].Strings("layer"); err != nil {
		return nil, nil, fmt.Errorf("figures: %w", err)
	}
	z = make([][]float64, len(models))
	for i, m := range models {
		z[i] = make([]float64, len(layers))
		sub := c.Where("model", m)
		for j, l := range layers {
			v, err := sub.Where("layer", l).Floats(col)
			if err != nil {
				return nil, nil, fmt.Errorf("figures: %w", err)
			}
			if len(v) != 1 {
				z[i][j] = nan()
				continue
			}
			z[i][j] = v[0]
		}
	}
	return layers, z, nil
}
