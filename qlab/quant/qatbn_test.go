package quant

import (
	"context"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/train"
)

// With float weights and activations, folding batch norm at every step is
// an exact rewrite of the unfolded network (conv(w·sf)/sf = conv(w), and
// the backward pass runs with the weight fq(w·sf)/sf = w): BNInTraining
// fine-tuning must give the batch-norm-folded result of plain float SGD
// with momentum on the unfolded model, batch statistics and running
// statistics included.
func TestTrainQATBNFloatMatchesSGD(t *testing.T) {
	m := smallNet(t, false)
	d := selfLabelled(t, m, 64, 42)
	cfg := Config{Weights: TensorConfig{Float: true}, Activations: TensorConfig{Float: true}, Biases: TensorConfig{Float: true}}
	const lr, mom, bs, epochs, seed = 0.02, 0.9, 16, 2, 3
	ctx := context.Background()
	got, err := TrainQAT(ctx, m, d, QATOptions{Options: Options{Config: cfg, BatchSize: bs}, Epochs: epochs, LR: lr, Seed: seed, BNInTraining: true})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Fit(ctx, ref, d, nil, train.Config{Epochs: epochs, BatchSize: bs, Seed: seed, Optimizer: train.SGD(lr, mom)}); err != nil {
		t.Fatal(err)
	}
	ref.Eval()
	want, err := FoldBatchNorm(ref)
	if err != nil {
		t.Fatal(err)
	}
	start, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	var moved float64
	for _, p := range got.Net.Params() {
		w, s := want.Param(p.Name).Value.Data, start.Param(p.Name).Value.Data
		for k, v := range p.Value.Data {
			moved = max(moved, math.Abs(float64(w[k]-s[k])))
			if diff := math.Abs(float64(v - w[k])); diff > 1e-4+1e-3*math.Abs(float64(w[k])) {
				t.Fatalf("%s[%d]: got %v; want %v (float SGD, then folded)", p.Name, k, v, w[k])
			}
		}
	}
	if moved < 1e-3 {
		t.Errorf("float SGD moved the folded parameters by at most %g; the test checks nothing", moved)
	}
}

// Fine-tuning 3-bit weights with batch norm folded at every step must
// recover part of what post-training quantization loses.
func TestTrainQATBNInTraining(t *testing.T) {
	m := smallNet(t, false)
	d := selfLabelled(t, m, 256, 40)
	cfg := Config{
		Weights:     TensorConfig{Bits: 3, Signed: true, Symmetric: true, PerChannel: true},
		Activations: TensorConfig{},
		Biases:      TensorConfig{Float: true},
	}
	ctx := context.Background()
	ptq, err := Quantize(ctx, m, d, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, ptqAcc, ptqLoss, err := score(ctx, ptq, d, 64)
	if err != nil {
		t.Fatal(err)
	}
	before := m.State()
	qat, err := TrainQAT(ctx, m, d, QATOptions{Options: Options{Config: cfg, BatchSize: 32}, Epochs: 4, LR: 0.01, Seed: 1, BNInTraining: true})
	if err != nil {
		t.Fatal(err)
	}
	_, qatAcc, qatLoss, err := score(ctx, qat, d, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-bit weights: PTQ acc %.3f loss %.4f; QAT with BN in training acc %.3f loss %.4f", ptqAcc, ptqLoss, qatAcc, qatLoss)
	if !(qatLoss < ptqLoss && qatAcc >= ptqAcc) {
		t.Errorf("QAT with BN in training did not improve on PTQ: loss %.4f vs %.4f, accuracy %.3f vs %.3f", qatLoss, ptqLoss, qatAcc, ptqAcc)
	}
	for _, lq := range qat.Layers {
		if lq.Weight == nil {
			continue
		}
		w, _ := weightOf(qat.Net.Layer(lq.Layer))
		again := w.Value.Clone()
		if err := lq.Weight.FakeQuant(again, w.Value); err != nil {
			t.Fatal(err)
		}
		for i := range again.Data {
			if again.Data[i] != w.Value.Data[i] {
				t.Fatalf("%q weight %d off its grid", lq.Layer, i)
			}
		}
	}
	for k, v := range m.State() {
		for i := range v {
			if v[i] != before[k][i] {
				t.Fatalf("TrainQAT modified the original model's %q", k)
			}
		}
	}
	if _, err := TrainQAT(ctx, m, d, QATOptions{Options: Options{Config: cfg}, BNInTraining: true, Ranges: Learned}); err == nil {
		t.Error("BNInTraining with learned ranges: got no error; want a config error")
	}
}
