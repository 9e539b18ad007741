package quant

import (
	"context"
	"math"
	"runtime"
	"testing"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/train"
)

// Fine-tuning with 3-bit weights in the loop must recover part of what
// post-training quantization loses on the data it trains on.
func TestTrainQAT(t *testing.T) {
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
	qat, err := TrainQAT(ctx, m, d, QATOptions{Options: Options{Config: cfg, BatchSize: 32}, Epochs: 4, LR: 0.01, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, qatAcc, qatLoss, err := score(ctx, qat, d, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-bit weights: PTQ acc %.3f loss %.4f; QAT acc %.3f loss %.4f", ptqAcc, ptqLoss, qatAcc, qatLoss)
	if qatLoss >= ptqLoss || qatAcc < ptqAcc {
		t.Errorf("QAT did not improve on PTQ: loss %.4f vs %.4f, accuracy %.3f vs %.3f", qatLoss, ptqLoss, qatAcc, ptqAcc)
	}
	if qat.Net.Training() {
		t.Error("QAT model left in training mode")
	}
	for _, lq := range qat.Layers {
		if lq.Weight != nil && !onGrid(lq.Weight, qat.Net.Param(lq.Layer+"/weight").Value) {
			t.Errorf("%q weights off their grid after QAT", lq.Layer)
		}
	}
	for k, v := range m.State() {
		for i := range v {
			if v[i] != before[k][i] {
				t.Fatalf("TrainQAT modified the original model's %q", k)
			}
		}
	}
}

// After QAT under TFLite int8 (int32 biases tied to the moving activation
// scales), with batch norm folded before or during fine-tuning, the model
// still runs integer-only within a step of fake quant.
func TestTrainQATInteger(t *testing.T) {
	for _, bnTrain := range []bool{false, true} {
		t.Run(map[bool]string{false: "folded before", true: "BN in training"}[bnTrain], func(t *testing.T) {
			testTrainQATInteger(t, bnTrain)
		})
	}
}

func testTrainQATInteger(t *testing.T, bnTrain bool) {
	m := smallNet(t, true)
	d := selfLabelled(t, m, 64, 41)
	q, err := TrainQAT(context.Background(), m, d, QATOptions{Options: Options{Config: TFLiteInt8(), BatchSize: 16}, Epochs: 2, LR: 0.005, BNInTraining: bnTrain})
	if err != nil {
		t.Fatal(err)
	}
	for _, lq := range q.Layers {
		if lq.Bias != nil {
			in := q.Layer(lq.Input).Output
			if want := float32(float64(in.Scale[0]) * float64(lq.Weight.Scale[0])); lq.Bias.Scale[0] != want {
				t.Errorf("%q bias scale %v; want input x weight scale %v", lq.Layer, lq.Bias.Scale[0], want)
			}
		}
	}
	im, err := q.Integer()
	if err != nil {
		t.Fatal(err)
	}
	got, err := im.Forward(d.Images)
	if err != nil {
		t.Fatal(err)
	}
	y, err := q.Forward(d.Images)
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.Layers[len(q.Layers)-1].Output.Quantize(y)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if dd := got.Data[i] - want.Data[i]; dd < -3 || dd > 3 {
			t.Fatalf("logit %d: integer %d; fake quant %d", i, got.Data[i], want.Data[i])
		}
	}
}

// score returns the sample count, accuracy and mean loss of f on d.
func score(ctx context.Context, f train.Forwarder, d *data.Dataset, bs int) (int, float64, float64, error) {
	m, err := train.Evaluate(ctx, f, d, bs)
	return m.N, m.Accuracy, m.Loss, err
}

// QAT runs on train.Loop: the same options give bit-identical quantized
// weights and activation params for any GOMAXPROCS, with batch norm folded
// before and during fine-tuning.
func TestTrainQATDeterministic(t *testing.T) {
	m := smallNet(t, false)
	d := selfLabelled(t, m, 96, 43)
	for _, bn := range []bool{false, true} {
		o := QATOptions{Options: Options{Config: QUInt8(), BatchSize: 32}, Epochs: 2, LR: 0.01, Seed: 5, BNInTraining: bn}
		var ref map[string][]float32
		var refActs []*QParams
		for _, procs := range []int{1, 2, 1} {
			old := runtime.GOMAXPROCS(procs)
			q, err := TrainQAT(context.Background(), m, d, o)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			st := q.Net.State()
			var acts []*QParams
			for _, lq := range q.Layers {
				acts = append(acts, lq.Output)
			}
			if ref == nil {
				ref, refActs = st, acts
				continue
			}
			for k, v := range st {
				for i := range v {
					if math.Float32bits(v[i]) != math.Float32bits(ref[k][i]) {
						t.Fatalf("BNInTraining %v, GOMAXPROCS %d: %s[%d] = %v; want %v", bn, procs, k, i, v[i], ref[k][i])
					}
				}
			}
			for i, p := range acts {
				if (p == nil) != (refActs[i] == nil) || p != nil && (p.Scale[0] != refActs[i].Scale[0] || p.ZeroPoint[0] != refActs[i].ZeroPoint[0]) {
					t.Fatalf("BNInTraining %v, GOMAXPROCS %d: activation params of %q differ", bn, procs, q.Layers[i].Layer)
				}
			}
		}
	}
}
