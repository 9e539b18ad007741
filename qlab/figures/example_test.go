package figures_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/figures"
)

// Overlay the weight distributions of two initializers, layer by layer,
// with bins shared per layer, and save the figure in every format.
func ExampleHistogramGridFromStats() {
	r := rand.New(rand.NewPCG(1, 1))
	stats := map[string]*analysis.LayerStats{}
	names := []string{"He normal", "Glorot uniform"}
	for i, name := range names {
		s := &analysis.LayerStats{Name: name}
		for l := range 4 {
			a, _ := analysis.NewAccumulator(analysis.Options{})
			w := make([]float32, 2000)
			for j := range w {
				if i == 0 {
					w[j] = float32(r.NormFloat64() * 0.1 / float64(l+1))
				} else {
					w[j] = float32((2*r.Float64() - 1) * 0.15 / float64(l+1))
				}
			}
			a.Add(w)
			s.Add(fmt.Sprintf("conv%d", l+1), "Conv2D", a)
		}
		stats[name] = s
	}
	fig, err := figures.HistogramGridFromStats(names, []*analysis.LayerStats{stats[names[0]], stats[names[1]]}, 40,
		figures.HistOptions{Cols: 2, XLabel: "weight"})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "figs")
	defer os.RemoveAll(dir)
	if err := fig.Save(dir, "weights"); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "weights.*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// weights.eps
	// weights.pdf
	// weights.png
	// weights.svg
}

// A histogram grid from histograms computed elsewhere.
func ExampleHistogramGrid() {
	a, _ := analysis.NewHistogram(analysis.Bins{Lo: -1, Hi: 1, N: 4})
	a.Add([]float32{-0.9, -0.2, 0.1, 0.3, 0.35, 0.8})
	fig, err := figures.HistogramGrid([]figures.HistPanel{{Title: "conv1", Series: []figures.HistSeries{{Name: "He", Hist: a}}}}, figures.HistOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fig.Rows, fig.Cols, len(fig.PNG()) > 0)
	// Output: 1 1 true
}

// FP32 vs INT8 accuracy per initializer, with 95% confidence intervals.
func ExampleAccuracyBars() {
	fig, err := figures.AccuracyBars([]figures.AccuracyBar{
		{Arch: "VGG", Init: "He", Precision: "FP32", Mean: 91.2, CI: 0.3},
		{Arch: "VGG", Init: "He", Precision: "INT8", Mean: 90.8, CI: 0.4},
		{Arch: "VGG", Init: "Glorot", Precision: "FP32", Mean: 90.9, CI: 0.2},
		{Arch: "VGG", Init: "Glorot", Precision: "INT8", Mean: 89.1, CI: 0.6},
	}, figures.BarOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(fig.Legend), "legend entries:", fig.Legend[0].Label, fig.Legend[1].Label)
	// Output: 2 legend entries: FP32 INT8
}
