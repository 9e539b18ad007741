package figures

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/tensor"

	"github.com/qlab-dev/qlab/qlab/analysis"
)

// Seeded synthetic data shared by examples, golden tests and benchmarks.

func synthLayerStats(name string, seed uint64, layers int, scale float64) *analysis.LayerStats {
	r := rand.New(rand.NewPCG(seed, 7))
	s := &analysis.LayerStats{Name: name}
	x := make([]float32, 4000)
	for l := range layers {
		a, _ := analysis.NewAccumulator(analysis.Options{})
		sd := scale * (1 + 0.15*float64(l))
		for i := range x {
			v := sd * r.NormFloat64()
			if l%3 == 2 {
				v = sd * r.ExpFloat64() // a skewed (post-ReLU-like) layer
			}
			x[i] = float32(v)
		}
		a.Add(x)
		s.Add(fmt.Sprintf("conv%d", l+1), "Conv2D", a)
	}
	return s
}

func exampleHistFigure() *Figure {
	he := synthLayerStats("he", 1, 10, 1)
	gl := synthLayerStats("glorot", 2, 10, 0.6)
	f, err := HistogramGridFromStats([]string{"He normal", "Glorot uniform"}, []*analysis.LayerStats{he, gl}, 40, HistOptions{Cols: 5, XLabel: "weight"})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleBoxFigure() *Figure {
	var series []BoxSeries
	var layers []string
	for i, name := range []string{"He normal", "Glorot uniform", "uniform ±0.05"} {
		s := synthLayerStats(name, uint64(10+i), 8, 1/(1+float64(i)))
		ls, bx, err := BoxesFromTable(s.Table())
		if err != nil {
			panic(err)
		}
		layers = ls
		series = append(series, BoxSeries{Name: name, Boxes: bx})
	}
	f, err := LayerBoxes(layers, series, BoxOptions{YLabel: "weight value"})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleRangeFigure() *Figure {
	r := rand.New(rand.NewPCG(20, 1))
	s := &analysis.LayerStats{Name: "activations"}
	for l := range 7 {
		a, _ := analysis.NewAccumulator(analysis.Options{PerChannel: true})
		x := tensor.New(4, 16, 6, 6)
		for i := range x.Data {
			c := (i / 36) % 16
			x.Data[i] = float32(math.Exp(0.8*r.NormFloat64()) * (0.2 + float64(c%5)) * (1 + float64(l)) * 0.3 * r.NormFloat64())
		}
		a.AddTensor(x)
		s.Add(fmt.Sprintf("block%d/conv", l+1), "Conv2D", a)
	}
	f, err := RangeBarsFromStats(s, RangeOptions{YLabel: "activation range"})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleErrorFigure() *Figure {
	layers := []string{"conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "fc"}
	var series []ErrorSeries
	for i, name := range []string{"He normal", "Glorot normal", "normal σ=0.1"} {
		iso := make([]float64, len(layers))
		prop := make([]float64, len(layers))
		for l := range layers {
			iso[l] = 38 - 2*float64(i) - 0.8*float64(l%3) - float64(i)*0.5*float64(l)
			prop[l] = iso[l] - 1.6*float64(l) - 0.7*float64(i*l)
		}
		series = append(series, ErrorSeries{Name: name, Isolated: iso, Propagated: prop})
	}
	f, err := ErrorLines(layers, series, LineOptions{})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleAccuracyFigure() *Figure {
	var rows []AccuracyBar
	for a, arch := range []string{"VGG-BN", "DWS-BN"} {
		for i, init := range []string{"He N", "He U", "Glorot N", "Glorot U", "N(0,0.1)"} {
			fp := 91 - 0.6*float64(i) - 2*float64(a)
			rows = append(rows,
				AccuracyBar{Arch: arch, Init: init, Precision: "FP32", Mean: fp, CI: 0.3 + 0.1*float64(i)},
				AccuracyBar{Arch: arch, Init: init, Precision: "INT8", Mean: fp - 0.4 - float64(a)*float64(i)*1.1, CI: 0.4 + 0.2*float64(a*i)})
		}
	}
	f, err := AccuracyBars(rows, BarOptions{})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleHeatmapFigure() *Figure {
	inits := []string{"He normal", "He uniform", "Glorot normal", "Glorot uniform", "normal σ=0.1"}
	layers := []string{"conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "fc"}
	z := make([][]float64, len(inits))
	marks := make([][]bool, len(inits))
	for i := range inits {
		z[i] = make([]float64, len(layers))
		marks[i] = make([]bool, len(layers))
		for l := range layers {
			z[i][l] = 40 - 1.5*float64(l) - 2.5*float64(i) + 3*math.Sin(float64(i*l))
			marks[i][l] = (i+l)%4 == 0
		}
	}
	f, err := Heatmap(inits, layers, z, HeatmapOptions{Label: "SQNR (dB)", XLabel: "layer", Marks: marks})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleTrainingFigure() *Figure {
	var runs []Run
	for i, name := range []string{"He normal", "Glorot uniform", "N(0, 0.1)"} {
		r := Run{Name: name}
		for e := 0; e < 30; e++ {
			t := float64(e)
			r.Epoch = append(r.Epoch, t+1)
			k := 0.12 + 0.03*float64(i)
			r.TrainLoss = append(r.TrainLoss, 0.15+2.1*math.Exp(-k*t))
			r.TestLoss = append(r.TestLoss, 0.35+2*math.Exp(-k*t)+0.004*t)
			r.TrainAcc = append(r.TrainAcc, 98-80*math.Exp(-k*t))
			r.TestAcc = append(r.TestAcc, 90-72*math.Exp(-k*t)-0.3*float64(i))
		}
		runs = append(runs, r)
	}
	f, err := TrainingCurves(runs, LineOptions{})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleRangeTrainingFigure() *Figure {
	layers := []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc"}
	var epochs []float64
	for e := 0; e <= 20; e++ {
		epochs = append(epochs, float64(e))
	}
	ranges := make([][]float64, len(layers))
	for l := range layers {
		for _, e := range epochs {
			ranges[l] = append(ranges[l], (1+0.6*float64(l))*(2-math.Exp(-e/5))+0.1*math.Sin(e+float64(l)))
		}
	}
	f, err := RangeOverTraining(layers, epochs, ranges, LineOptions{YLabel: "activation range"})
	if err != nil {
		panic(err)
	}
	return f
}

func exampleViolinFigure() *Figure {
	var stats []*analysis.LayerStats
	names := []string{"He normal", "Glorot uniform"}
	for i, name := range names {
		stats = append(stats, synthLayerStats(name, uint64(30+i), 6, 1/(1+float64(i))))
	}
	layers, series, err := ViolinsFromStats(names, stats, 30)
	if err != nil {
		panic(err)
	}
	f, err := LayerViolins(layers, series, BoxOptions{YLabel: "weight value"})
	if err != nil {
		panic(err)
	}
	return f
}
