package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

func refNet(t testing.TB) *nn.Model {
	t.Helper()
	spec := arch.RefNetS()
	spec.Init = initializers.HeNormal()
	spec.Seed = 3
	m, err := arch.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomBatch(seed uint64, n int) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 9))
	x := tensor.New(n, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

func TestWeightStats(t *testing.T) {
	m := refNet(t)
	s, err := WeightStats(m, WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var weights []*nn.Param
	for _, p := range m.Params() {
		if p.Kind == nn.Weight {
			weights = append(weights, p)
		}
	}
	if len(s.Accs) != len(weights) {
		t.Fatalf("parameters: got %d; want %d", len(s.Accs), len(weights))
	}
	for i, p := range weights {
		a := s.Accs[i]
		if s.Layers[i] != p.Name {
			t.Errorf("row %d: got %q; want %q", i, s.Layers[i], p.Name)
		}
		mean, m2, _, _ := naive(p.Value.Data)
		if got := a.Moments(); got.N != int64(len(p.Value.Data)) || !relClose(got.Mean, mean, 1e-9) || !relClose(got.M2, m2, 1e-12) {
			t.Errorf("%s: got N %d mean %v M2 %v; want %d %v %v", p.Name, got.N, got.Mean, got.M2, len(p.Value.Data), mean, m2)
		}
		ch := a.Channels()
		if len(ch) != p.Value.Shape[0] {
			t.Fatalf("%s channels: got %d; want %d", p.Name, len(ch), p.Value.Shape[0])
		}
		per := len(p.Value.Data) / p.Value.Shape[0]
		for c := range ch {
			row := p.Value.Data[c*per : (c+1)*per]
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range row {
				lo, hi = min(lo, v), max(hi, v)
			}
			if ch[c].Min != float64(lo) || ch[c].Max != float64(hi) {
				t.Errorf("%s channel %d: got [%v, %v]; want [%v, %v]", p.Name, c, ch[c].Min, ch[c].Max, lo, hi)
			}
		}
	}
	all, err := WeightStats(m, WeightOptions{Kinds: []nn.ParamKind{nn.Weight, nn.Gamma, nn.RunningVar}})
	if err != nil || len(all.Accs) <= len(weights) {
		t.Errorf("with gamma and running var: got %d params (%v); want more than %d", len(all.Accs), err, len(weights))
	}
}

func TestActivationStats(t *testing.T) {
	m := refNet(t)
	m.Train()
	batches := []*tensor.Tensor{randomBatch(1, 3), randomBatch(2, 5)}
	// Oracle: copy every layer's output, batch by batch, then compute the
	// two-pass moments of the concatenation.
	saved := map[string][]float32{}
	m.Eval()
	remove := m.Observe(func(l nn.Layer, out *tensor.Tensor) {
		saved[l.Name()] = append(saved[l.Name()], out.Data...)
	})
	for _, x := range batches {
		if _, err := m.Forward(x); err != nil {
			t.Fatal(err)
		}
	}
	remove()
	m.Train()
	s, err := ActivationStats(context.Background(), m, SliceBatches(batches...), ActivationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Training() {
		t.Errorf("training mode not restored")
	}
	if len(s.Layers) != len(m.Layers()) {
		t.Fatalf("layers: got %d; want %d", len(s.Layers), len(m.Layers()))
	}
	for i, name := range s.Layers {
		want := saved[name]
		got := s.Accs[i].Moments()
		mean, m2, m3, m4 := naive(want)
		if got.N != int64(len(want)) {
			t.Fatalf("%s: count %d; want %d", name, got.N, len(want))
		}
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"mean", got.Mean, mean}, {"M2", got.M2, m2}, {"M3", got.M3, m3}, {"M4", got.M4, m4}} {
			// Means near 0 (BN outputs) make relative error meaningless:
			// compare against the scale of the data instead.
			scale := math.Max(math.Abs(c.want), math.Sqrt(m2/float64(len(want)))*1e-3)
			if math.Abs(c.got-c.want) > 1e-10*scale {
				t.Errorf("%s %s: got %.15g; want %.15g", name, c.what, c.got, c.want)
			}
		}
	}
	relu := s.Get("block1/conv/relu")
	if relu == nil || relu.Moments().Min != 0 || len(relu.Channels()) != 32 {
		t.Errorf("block1/conv/relu: got %+v", relu)
	}
	mm, err := s.MismatchTable()
	if err != nil || mm.Len() == 0 {
		t.Errorf("mismatch table: %v rows, %v", mm.Len(), err)
	}

	t.Run("filters", func(t *testing.T) {
		r, err := ActivationStats(context.Background(), m, SliceBatches(batches...), ActivationOptions{Kinds: []string{"ReLU"}, MaxBatches: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Layers) != 5 || r.Accs[0].Count() != 3*32*32*32 {
			t.Errorf("ReLU only, 1 batch: got %d layers, first count %d; want 5, %d", len(r.Layers), r.Accs[0].Count(), 3*32*32*32)
		}
		if _, err := ActivationStats(context.Background(), m, SliceBatches(batches...), ActivationOptions{Layers: []string{"nope"}}); err == nil {
			t.Errorf("unknown layer: got nil error")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := ActivationStats(ctx, m, SliceBatches(batches...), ActivationOptions{}); err == nil {
			t.Errorf("cancelled context: got nil error")
		}
	})
	t.Run("nan", func(t *testing.T) {
		bad := randomBatch(3, 2)
		bad.Data[100] = float32(math.NaN())
		if _, err := ActivationStats(context.Background(), m, SliceBatches(bad), ActivationOptions{}); err == nil {
			t.Errorf("NaN input: got nil error")
		}
	})
}

// BenchmarkActivationStatsOverhead compares a plain inference pass of
// RefNet-S (batch 64) with the same pass collecting per-layer and
// per-channel statistics of every layer, and reports their ratio.
func BenchmarkActivationStatsOverhead(b *testing.B) {
	m := refNet(b)
	m.Eval()
	x := randomBatch(4, 64)
	const k = 4 // batches per timing
	var plain, stats float64
	b.ReportAllocs()
	for b.Loop() {
		t0 := nowNano()
		for range k {
			if _, err := m.Forward(x); err != nil {
				b.Fatal(err)
			}
		}
		t1 := nowNano()
		xs := make([]*tensor.Tensor, k)
		for i := range xs {
			xs[i] = x
		}
		if _, err := ActivationStats(context.Background(), m, SliceBatches(xs...), ActivationOptions{}); err != nil {
			b.Fatal(err)
		}
		t2 := nowNano()
		plain += float64(t1 - t0)
		stats += float64(t2 - t1)
	}
	b.ReportMetric(stats/plain, "stats/plain")
	b.ReportMetric(float64(b.N*k*64)/(plain/1e9), "plain-images/s")
	b.ReportMetric(float64(b.N*k*64)/(stats/1e9), "stats-images/s")
}
