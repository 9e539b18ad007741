package sweep

import (
	"math"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/figures"
)

// heatmapLayers returns the layer labels along the heatmap's x axis.
func heatmapLayers(t *testing.T, f *figures.Figure) []string {
	t.Helper()
	var got []string
	for _, tk := range f.Panels[0].X.Tick.Marker.Ticks(0, 0) {
		got = append(got, tk.Label)
	}
	return got
}

// TestLayerHeatmapDropsEmptyLayers checks that layers without data for
// the metric (a BN and a ReLU layer: no weight, weight fields 0, SQNR NaN)
// are not drawn as columns, while activation columns keep every layer.
func TestLayerHeatmapDropsEmptyLayers(t *testing.T) {
	r := gridRecords()
	for _, rec := range r.Records {
		conv, fc := rec.Layers[0], rec.Layers[1]
		conv.ActMax, fc.ActMax = 3, 5
		rec.Layers = []LayerRecord{conv,
			{Layer: "stem/bn", Kind: "BatchNorm2D", ActMax: 4},
			{Layer: "stem/relu", Kind: "ReLU", ActMax: 2},
			fc}
	}
	for _, c := range []struct {
		column string
		want   []string
	}{
		{"weight_std", []string{"stem/conv", "head/fc"}},
		{"quint8_weight_sqnr_db", []string{"stem/conv"}}, // head/fc has no quint8 MSE: NaN
		{"act_max", []string{"stem/conv", "stem/bn", "stem/relu", "head/fc"}},
	} {
		t.Run(c.column, func(t *testing.T) {
			f, err := r.LayerHeatmap("net", c.column, figures.HeatmapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := heatmapLayers(t, f); !slices.Equal(got, c.want) {
				t.Errorf("columns: got %v; want %v", got, c.want)
			}
		})
	}
	// No layer with data is an error naming the column.
	for _, rec := range r.Records {
		for i := range rec.Layers {
			rec.Layers[i].ActMin = math.NaN()
		}
	}
	if _, err := r.LayerHeatmap("net", "act_min", figures.HeatmapOptions{}); err == nil {
		t.Errorf("all-NaN column: got nil error; want one")
	}
}
