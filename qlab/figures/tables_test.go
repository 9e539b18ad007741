package figures

import (
	"math"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/analysis"
)

func errTable(t *testing.T, off float64, layers ...string) *analysis.Table {
	tb := analysis.NewTable("e", "layer", "quantized", "isolated_sqnr", "propagated_sqnr")
	for i, l := range layers {
		if err := tb.Append(l, i != 1, 40+off-float64(i), 40+off-2*float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func TestErrorSeriesFromTables(t *testing.T) {
	a := errTable(t, 0, "conv1", "pool1", "conv2")
	b := errTable(t, 5, "conv2", "pool1", "conv1") // other order: aligned by name
	layers, series, err := ErrorSeriesFromTables([]string{"He", "Glorot"}, []*analysis.Table{a, b}, "sqnr")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(layers, []string{"conv1", "conv2"}) {
		t.Errorf("layers: got %v; want [conv1 conv2] (pool1 is not quantized)", layers)
	}
	if got := series[1].Isolated; !slices.Equal(got, []float64{43, 45}) {
		t.Errorf("Glorot isolated: got %v; want [43 45]", got)
	}
	if _, _, err := ErrorSeriesFromTables([]string{"He"}, []*analysis.Table{a}, "nope"); err == nil {
		t.Errorf("unknown metric: got nil error")
	}
	if _, err := ErrorLines(layers, series, LineOptions{}); err != nil {
		t.Error(err)
	}
}

func TestMatrixFromTables(t *testing.T) {
	a := errTable(t, 0, "conv1", "conv2")
	b := errTable(t, 5, "conv2")
	layers, z, err := MatrixFromTables([]string{"He", "Glorot"}, []*analysis.Table{a, b}, "isolated_sqnr")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(layers, []string{"conv1", "conv2"}) || z[0][0] != 40 || z[0][1] != 39 || !math.IsNaN(z[1][0]) || z[1][1] != 45 {
		t.Errorf("got layers %v z %v; want [conv1 conv2] [[40 39] [NaN 45]]", layers, z)
	}
	if _, err := Heatmap([]string{"He", "Glorot"}, layers, z, HeatmapOptions{Label: "SQNR (dB)"}); err != nil {
		t.Error(err)
	}
}

func TestLogTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   []string
	}{
		{1e-6, 1, []string{"1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1"}},
		{0.39, 347, []string{"1", "10", "100"}},
		{3, 30, []string{"5", "10", "20"}},
		{0.012, 0.03, []string{"0.015", "0.02", "0.025", "0.03"}},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (logTicks{}).Ticks(c.lo, c.hi) {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ticks [%v, %v]: got %v; want %v", c.lo, c.hi, got, c.want)
		}
	}
}
