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
