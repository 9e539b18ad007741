package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// linearPercentile is the oracle: NumPy's default "linear" percentile of
// the sorted values.
func linearPercentile(sorted []float32, p float64) float64 {
	pos := p / 100 * float64(len(sorted)-1)
	k := int(math.Floor(pos))
	v := float64(sorted[k])
	if fr := pos - float64(k); fr > 0 && k+1 < len(sorted) {
		v += fr * (float64(sorted[k+1]) - v)
	}
	return v
}

// channelBatches returns batches of N×C×HW data whose channels differ in
// scale, offset and shape (Gaussian, large offset, ReLU-like with exact
// zeros, exponential), and each channel's values concatenated.
func channelBatches(seed uint64, batches, n, nc, hw int) ([]*tensor.Tensor, [][]float32) {
	r := rand.New(rand.NewPCG(seed, 7))
	vals := make([][]float32, nc)
	var xs []*tensor.Tensor
	for range batches {
		x := tensor.New(n, nc, hw)
		for i := range x.Data {
			c := (i / hw) % nc
			var v float64
			switch c % 4 {
			case 0:
				v = 0.01 * r.NormFloat64()
			case 1:
				v = 300 + 5*r.NormFloat64()
			case 2:
				v = max(0, r.NormFloat64())
			case 3:
				v = -r.ExpFloat64() * 1e-3
			}
			x.Data[i] = float32(v)
			vals[c] = append(vals[c], x.Data[i])
		}
		xs = append(xs, x)
	}
	return xs, vals
}

var testPs = []float64{0, 0.1, 1, 5, 25, 50, 75, 95, 99, 99.9, 100}

func TestChannelPercentiles(t *testing.T) {
	const batches, n, nc, hw = 6, 4, 8, 25 // 600 values per channel
	xs, vals := channelBatches(11, batches, n, nc, hw)
	for _, tc := range []struct {
		name   string
		buffer int
		exact  bool
		tol    float64 // relative to the true percentile's magnitude
	}{
		{"exact", batches * n * hw, true, 0},
		{"overflowed", 100, false, CoarseRelativeError},
		{"coarse only", -1, false, CoarseRelativeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAccumulator(Options{PerChannel: true, ChannelPercentiles: true, ChannelExactBuffer: tc.buffer})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range xs {
				if err := a.AddTensor(x); err != nil {
					t.Fatal(err)
				}
			}
			for c := range nc {
				if got := a.ChannelExact(c); got != tc.exact {
					t.Errorf("channel %d exact: got %v; want %v", c, got, tc.exact)
				}
				sorted := slices.Clone(vals[c])
				slices.Sort(sorted)
				got := a.ChannelPercentiles(c, testPs...)
				for i, p := range testPs {
					want := linearPercentile(sorted, p)
					if math.Abs(got[i]-want) > tc.tol*math.Abs(want) {
						t.Errorf("channel %d p%v: got %.9g; want %.9g (tolerance %v relative)", c, p, got[i], want, tc.tol)
					}
				}
			}
		})
	}
}

// TestChannelPercentilesStreaming checks that batch-by-batch feeding, one
// call over all the data, and a merge of two halves give bit-identical
// per-channel percentiles, exact and coarse.
func TestChannelPercentilesStreaming(t *testing.T) {
	const batches, n, nc, hw = 8, 3, 5, 40
	xs, _ := channelBatches(12, batches, n, nc, hw)
	all := tensor.New(batches*n, nc, hw)
	for b, x := range xs {
		copy(all.Data[b*len(x.Data):], x.Data)
	}
	for _, buffer := range []int{batches * n * hw, 50, -1} {
		opts := Options{PerChannel: true, ChannelPercentiles: true, ChannelExactBuffer: buffer}
		stream, _ := NewAccumulator(opts)
		whole, _ := NewAccumulator(opts)
		left, _ := NewAccumulator(opts)
		right, _ := NewAccumulator(opts)
		for b, x := range xs {
			if err := stream.AddTensor(x); err != nil {
				t.Fatal(err)
			}
			half := left
			if b >= batches/2 {
				half = right
			}
			if err := half.AddTensor(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := whole.AddTensor(all); err != nil {
			t.Fatal(err)
		}
		if err := left.Merge(right); err != nil {
			t.Fatal(err)
		}
		for c := range nc {
			want := whole.ChannelPercentiles(c, testPs...)
			for _, k := range []struct {
				name string
				a    *Accumulator
			}{{"streamed", stream}, {"merged", left}} {
				got := k.a.ChannelPercentiles(c, testPs...)
				if !slices.Equal(got, want) {
					t.Errorf("buffer %d channel %d %s: got %v; want %v", buffer, c, k.name, got, want)
				}
			}
		}
	}
}

func TestChannelPercentilesOff(t *testing.T) {
	xs, _ := channelBatches(13, 1, 2, 3, 4)
	a, _ := NewAccumulator(Options{PerChannel: true})
	if err := a.AddTensor(xs[0]); err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{-1, 0, 3} {
		if got := a.ChannelPercentiles(c, 50); !math.IsNaN(got[0]) {
			t.Errorf("channel %d without ChannelPercentiles: got %v; want NaN", c, got[0])
		}
	}
	// A NaN leaves the channel distributions untouched.
	b, _ := NewAccumulator(Options{PerChannel: true, ChannelPercentiles: true})
	if err := b.AddTensor(xs[0]); err != nil {
		t.Fatal(err)
	}
	before := b.ChannelPercentiles(1, testPs...)
	bad := xs[0].Clone()
	bad.Data[len(bad.Data)-1] = float32(math.NaN())
	if err := b.AddTensor(bad); err == nil {
		t.Fatal("NaN input: got nil error; want one")
	}
	if got := b.ChannelPercentiles(1, testPs...); !slices.Equal(got, before) {
		t.Errorf("after rejected NaN batch: got %v; want %v", got, before)
	}
}

func TestChannelTablePercentiles(t *testing.T) {
	// Weight layout Cout × Cin × kh × kw: channel c holds c*100 + 0..35.
	w := tensor.New(3, 4, 3, 3)
	for i := range w.Data {
		w.Data[i] = float32((i/36)*100 + i%36)
	}
	a, _ := NewAccumulator(Options{PerChannel: true, ChannelPercentiles: true, ChannelExactBuffer: 36})
	if err := a.AddChannels(w.Data, 1, 3); err != nil {
		t.Fatal(err)
	}
	var s LayerStats
	s.Add("conv", "Conv2D", a)
	tb := s.ChannelTable()
	for _, col := range []struct {
		name string
		want []float64
	}{
		{"p50", []float64{17.5, 117.5, 217.5}},    // median of 0..35 (+100c)
		{"p1", []float64{0.35, 100.35, 200.35}},   // 0.01·35
		{"p99", []float64{34.65, 134.65, 234.65}}, // 0.99·35
		{"skewness", []float64{0, 0, 0}},
		{"kurtosis", []float64{-1.2018532818532818, -1.2018532818532818, -1.2018532818532818}}, // discrete uniform: -6(n²+1)/(5(n²-1))
	} {
		got, err := tb.Floats(col.name)
		if err != nil {
			t.Fatal(err)
		}
		for c := range col.want {
			if math.Abs(got[c]-col.want[c]) > 1e-9 {
				t.Errorf("%s channel %d: got %v; want %v", col.name, c, got[c], col.want[c])
			}
		}
	}
}

func TestWeightStatsChannelPercentiles(t *testing.T) {
	m := refNet(t)
	s, err := WeightStats(m, WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range m.Params() {
		if p.Kind != nn.Weight {
			continue
		}
		a := s.Get(p.Name)
		w := p.Value
		per := len(w.Data) / w.Shape[0]
		for c := range w.Shape[0] {
			if !a.ChannelExact(c) {
				t.Errorf("%s channel %d: got inexact; want exact (weights are summarised in one call)", p.Name, c)
			}
			sorted := slices.Clone(w.Data[c*per : (c+1)*per])
			slices.Sort(sorted)
			got := a.ChannelPercentiles(c, 1, 50, 99)
			for i, q := range []float64{1, 50, 99} {
				if want := linearPercentile(sorted, q); got[i] != want {
					t.Errorf("%s channel %d p%v: got %v; want %v", p.Name, c, q, got[i], want)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no weight channels checked")
	}
	off, err := WeightStats(m, WeightOptions{NoChannelPercentiles: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := off.Accs[0].ChannelPercentiles(0, 50); !math.IsNaN(got[0]) {
		t.Errorf("NoChannelPercentiles: got %v; want NaN", got[0])
	}
}

func TestActivationStatsChannelPercentiles(t *testing.T) {
	m := refNet(t)
	x := randomBatch(5, 2)
	for _, on := range []bool{false, true} {
		s, err := ActivationStats(t.Context(), m, SliceBatches(x), ActivationOptions{ChannelPercentiles: on, MaxBatches: 1})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.ChannelTable().Floats("p50")
		if err != nil {
			t.Fatal(err)
		}
		nan := 0
		for _, v := range p {
			if math.IsNaN(v) {
				nan++
			}
		}
		if on && nan != 0 || !on && nan != len(p) {
			t.Errorf("ChannelPercentiles %v: got %d of %d p50s NaN; want all or none", on, nan, len(p))
		}
	}
}

func TestChannelHistogram(t *testing.T) {
	const batches, n, nc, hw = 4, 3, 4, 30 // 360 values per channel
	xs, vals := channelBatches(14, batches, n, nc, hw)
	for _, tc := range []struct {
		name   string
		buffer int
	}{{"exact", batches * n * hw}, {"coarse", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := NewAccumulator(Options{PerChannel: true, ChannelPercentiles: true, ChannelExactBuffer: tc.buffer})
			for _, x := range xs {
				if err := a.AddTensor(x); err != nil {
					t.Fatal(err)
				}
			}
			for c := range nc {
				m := a.Channels()[c]
				b := Bins{Lo: m.Min, Hi: m.Max, N: 8}
				h, err := a.ChannelHistogram(c, b)
				if err != nil {
					t.Fatal(err)
				}
				// Oracle: direct counts of the channel's values.
				want, _ := NewHistogram(b)
				want.Add(vals[c])
				if got := h.Total(); got != int64(len(vals[c])) {
					t.Errorf("channel %d total: got %d; want %d", c, got, len(vals[c]))
				}
				if tc.buffer > 0 {
					if !slices.Equal(h.Counts, want.Counts) {
						t.Errorf("channel %d counts: got %v; want %v", c, h.Counts, want.Counts)
					}
					continue
				}
				// Coarse: a value may move only to a bin its coarse bucket
				// overlaps, so cumulative counts differ by at most the
				// values within CoarseRelativeError of each edge.
				var cg, cw int64
				for i := range b.N {
					cg, cw = cg+h.Counts[i], cw+want.Counts[i]
					edge := b.Lo + float64(i+1)*b.Width()
					var near int64
					for _, v := range vals[c] {
						if math.Abs(float64(v)-edge) <= CoarseRelativeError*math.Max(math.Abs(edge), math.Abs(float64(v))) {
							near++
						}
					}
					if d := cg - cw; d > near || -d > near {
						t.Errorf("channel %d cumulative count to bin %d: got %d; want %d ± %d", c, i, cg, cw, near)
					}
				}
			}
		})
	}
	off, _ := NewAccumulator(Options{PerChannel: true})
	if err := off.AddTensor(xs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := off.ChannelHistogram(0, Bins{Lo: 0, Hi: 1, N: 2}); err == nil {
		t.Error("ChannelHistogram without ChannelPercentiles: got nil error; want one")
	}
}
