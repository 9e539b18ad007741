package study

import (
	"context"
	"io"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/quant"
)

// TestSetupReuse trains two initializers, then asks again with one more:
// the first two come from the cache with identical tables, the third is
// trained.
func TestSetupReuse(t *testing.T) {
	s := Setup{TrainN: 96, TestN: 48, Stages: [][]int{{4}, {8}}, BatchNorm: true, Epochs: 2, BatchSize: 32, LR: 0.05,
		Seed: 1, Cache: CacheOptions{Dir: t.TempDir(), Log: io.Discard}, NoProgress: true}
	ctx := context.Background()
	a, err := s.Train(ctx, []string{"he_normal", "random_uniform(0.05)"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Train(ctx, []string{"he_normal", "random_uniform(0.05)", "glorot_uniform"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		if b.Trained[i].Cached != want {
			t.Errorf("model %d (%s): cached %v; want %v", i, b.Inits[i], b.Trained[i].Cached, want)
		}
	}
	if got, want := b.Model(0).Name(), "regular+bn he_normal"; got != want {
		t.Errorf("model name %q; want %q", got, want)
	}
	fa, fb := a.Final(), b.Final()
	for c := 1; c < 6; c++ {
		if fa.Rows[1][c] != fb.Rows[1][c] {
			t.Errorf("final %s: %v then %v from the cache", fa.Columns[c], fa.Rows[1][c], fb.Rows[1][c])
		}
	}
	if fb.Rows[0][6] != true || fb.Rows[2][6] != false {
		t.Errorf("cached column %v, %v; want true, false", fb.Rows[0][6], fb.Rows[2][6])
	}
	if runs := b.Curves(); len(runs) != 3 || len(runs[0].Epoch) != 2 || runs[0].Epoch[1] != 2 || runs[2].Name != "glorot_uniform" {
		t.Errorf("curves %+v", runs)
	}
	r := b.Ranges()
	m, err := r.Where("init", "he_normal").Where("kind", "ReLU").Pivot("layer", "epoch", "act_range")
	if err != nil {
		t.Fatal(err)
	}
	last := b.History(0).Last().Ranges
	if len(m.Cols) != 2 || len(m.Rows) == 0 {
		t.Fatalf("ReLU ranges matrix %v x %v", m.Rows, m.Cols)
	}
	for _, l := range last {
		if l.Layer == m.Rows[0] && float64(l.ActMax-l.ActMin) != m.Values[0][1] {
			t.Errorf("%s act_range at epoch 2: %v; want %v", l.Layer, m.Values[0][1], l.ActMax-l.ActMin)
		}
	}
	w, _ := r.Where("has_weight", false).Floats("weight_range")
	if len(w) == 0 || !math.IsNaN(w[0]) {
		t.Errorf("weight_range of a layer without weights: %v; want NaN", w)
	}

	q, err := b.Evaluate(ctx, b.TrainSet.Subset(32), []Scheme{{Name: "quint8", Config: quant.QUInt8()}, {Name: "w", Config: quant.QUInt8(), Mode: quant.WeightsOnly}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Len() != 6 {
		t.Fatalf("evaluate: %d rows; want 6", q.Len())
	}
	for i := range q.Rows {
		row := q.Row(i)
		if d := 100*(row.Float("fp32")-row.Float("int8")) - row.Float("drop_pp"); math.Abs(d) > 1e-9 {
			t.Errorf("row %d: drop_pp inconsistent by %g", i, d)
		}
	}
	if fp := b.Final().Row(0).Float("test_accuracy"); q.Row(0).Float("fp32") != fp {
		t.Errorf("fp32 accuracy %v; want the history's last test accuracy %v", q.Row(0).Float("fp32"), fp)
	}
	bars, err := Bars(q, BarColumns{Panel: "scheme", X: "init", Series: "mode", Value: "int8", Scale: 100})
	if err != nil || len(bars) != 6 || bars[3].Arch != "w" || bars[3].Mean != 100*q.Row(3).Float("int8") {
		t.Errorf("bars %+v, %v", bars, err)
	}
	if _, err := Bars(q, BarColumns{Panel: "scheme", X: "init", Series: "mode", Value: "nope"}); err == nil {
		t.Error("Bars with an unknown column: no error")
	}
}
