package figures

import (
	"math"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"gonum.org/v1/plot"
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

// tickLabels returns the labels of the labelled ticks and the values of
// the unlabelled (minor) ones.
func tickLabels(ticks []plot.Tick) (labels []string, minor []float64) {
	for _, tk := range ticks {
		if tk.Label == "" {
			minor = append(minor, tk.Value)
		} else {
			labels = append(labels, tk.Label)
		}
	}
	return labels, minor
}

func TestLogTicks(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi float64
		want   []string
		minor  int // unlabelled ticks
	}{
		{"six decades", 1e-6, 1, []string{"1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1"}, 0},
		{"three decades", 0.39, 347, []string{"1", "10", "100"}, 6 + 8 + 8 + 2},
		{"range bars, under two decades", 0.2, 9.9, []string{"0.2", "0.5", "1", "2", "5"}, 6 + 6},
		{"one decade", 3, 30, []string{"5", "10", "20"}, 7}, // 3, 4, 6–9, 30
		{"factor 2.5, one 1–2–5 value", 6, 15, []string{"6", "7", "8", "9", "10"}, 0},
		{"twelve decades", 1e-9, 1e3, []string{"1e-08", "1e-06", "0.0001", "0.01", "1", "100"}, 0},
		{"factor 2.5", 0.012, 0.03, []string{"0.015", "0.02", "0.025", "0.03"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ticks := (logTicks{}).Ticks(c.lo, c.hi)
			got, minor := tickLabels(ticks)
			if !slices.Equal(got, c.want) {
				t.Errorf("labels [%v, %v]: got %v; want %v", c.lo, c.hi, got, c.want)
			}
			for _, tk := range ticks {
				if tk.Value < c.lo*(1-1e-9) || tk.Value > c.hi*(1+1e-9) {
					t.Errorf("tick %v outside [%v, %v]", tk.Value, c.lo, c.hi)
				}
			}
			if len(minor) != c.minor {
				t.Errorf("minor ticks [%v, %v]: got %v; want %d of them", c.lo, c.hi, minor, c.minor)
			}
		})
	}
}

func TestIntTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   []string
	}{
		{1, 3, []string{"1", "2", "3"}},
		{0, 4, []string{"0", "1", "2", "3", "4"}},
		{0.5, 3.5, []string{"1", "2", "3"}},
		{0, 10, []string{"0", "5", "10"}}, // cleanTicks would step by 2.5
		{1, 30, []string{"10", "20", "30"}},
		{0, 100, []string{"0", "25", "50", "75", "100"}},
	}
	for _, c := range cases {
		got, _ := tickLabels((intTicks{}).Ticks(c.lo, c.hi))
		if !slices.Equal(got, c.want) {
			t.Errorf("ticks [%v, %v]: got %v; want %v", c.lo, c.hi, got, c.want)
		}
	}
}

// TestEpochAxesAreWhole checks the figures with an epoch axis over a few
// epochs label whole epochs only.
func TestEpochAxesAreWhole(t *testing.T) {
	runs := []Run{{Name: "r", Epoch: []float64{1, 2, 3}, TrainLoss: []float64{2, 1, 0.5}, TrainAcc: []float64{50, 70, 80}}}
	tc, err := TrainingCurves(runs, LineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := RangeOverTraining([]string{"a"}, []float64{1, 2, 3}, [][]float64{{1, 2, 3}}, LineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(tc.Panels, ro.Panels...) {
		for _, tk := range p.X.Tick.Marker.Ticks(1, 3) {
			if tk.Label != "" && tk.Value != math.Trunc(tk.Value) {
				t.Errorf("epoch tick %q at %v: want whole epochs only", tk.Label, tk.Value)
			}
		}
	}
}

// TestRangeBarsLogTicks checks that a RangeBars log axis starts and ends
// on labelled 1–2–5 values and labels its lower decades, for ranges
// spanning several decades and for nearly equal ones (which gonum's
// autoscaled [lo/2, hi] once labelled 7.5, 10, 12.5, 15 only).
func TestRangeBarsLogTicks(t *testing.T) {
	cases := []struct {
		name     string
		tensor   []float64
		channels [][]float64
		min, max float64
		want     []string
	}{
		{"nearly equal", []float64{13, 14}, [][]float64{{12, 15}, {14}}, 5, 20, []string{"5", "10", "20"}},
		{"under two decades", []float64{0.4, 9.5}, [][]float64{{0.5, 0.35}, {9, 2}}, 0.1, 10, []string{"0.1", "0.2", "0.5", "1", "2", "5", "10"}},
		{"three decades", []float64{3, 300}, [][]float64{{0.7, 2}, {40, 300}}, 0.2, 500, []string{"1", "10", "100"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := RangeBars([]string{"a", "b"}, c.tensor, c.channels, RangeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := f.Panels[0]
			if math.Abs(p.Y.Min-c.min) > 1e-12*c.min || math.Abs(p.Y.Max-c.max) > 1e-12*c.max {
				t.Errorf("y axis: got [%v, %v]; want [%v, %v]", p.Y.Min, p.Y.Max, c.min, c.max)
			}
			got, _ := tickLabels(p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max))
			if !slices.Equal(got, c.want) {
				t.Errorf("labels: got %v; want %v", got, c.want)
			}
		})
	}
}
