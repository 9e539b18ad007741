package quant

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// torchBN is testdata/torch_bn.json (gen_torch_bn.py).
type torchBN struct {
	Batch       int                  `json:"batch"`
	XShape      []int                `json:"x_shape"`
	X           []float32            `json:"x"`
	Params      map[string][]float32 `json:"params"`
	Stale       map[string][]float32 `json:"stale"`
	Reestimated map[string][]float32 `json:"reestimated"`
	Momenta     []float32            `json:"momenta_restored"`
	EvalOut     []float32            `json:"eval_out"`
}

// torchBNNet is gen_torch_bn.py's network with its weights and stale
// statistics, and the inputs as a dataset.
func torchBNNet(t *testing.T) (*nn.Model, *data.Dataset, *torchBN) {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_bn.json")
	if err != nil {
		t.Fatal(err)
	}
	var v torchBN
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	conv, _ := nn.NewConv2D("c1", nn.Conv2DConfig{In: 2, Out: 4, Kernel: 3, Bias: true})
	bn1, _ := nn.NewBatchNorm2D("bn1", nn.BatchNormConfig{Channels: 4})
	r1, _ := nn.NewReLU("r1")
	dw, _ := nn.NewDepthwiseConv2D("dw", nn.DepthwiseConfig{Channels: 4, Kernel: 3})
	bn2, _ := nn.NewBatchNorm2D("bn2", nn.BatchNormConfig{Channels: 4, Momentum: 0.3})
	r2, _ := nn.NewReLU("r2")
	m, err := nn.NewModel("torchbn", v.XShape[1:], conv, bn1, r1, dw, bn2, r2)
	if err != nil {
		t.Fatal(err)
	}
	st := map[string][]float32{
		"c1/weight": v.Params["0.weight"], "c1/bias": v.Params["0.bias"],
		"bn1/gamma": v.Params["1.weight"], "bn1/beta": v.Params["1.bias"],
		"bn1/running_mean": v.Stale["1.running_mean"], "bn1/running_var": v.Stale["1.running_var"],
		"dw/weight": v.Params["3.weight"],
		"bn2/gamma": v.Params["4.weight"], "bn2/beta": v.Params["4.bias"],
		"bn2/running_mean": v.Stale["4.running_mean"], "bn2/running_var": v.Stale["4.running_var"],
	}
	if err := m.LoadState(st); err != nil {
		t.Fatal(err)
	}
	x := &tensor.Tensor{Shape: v.XShape, Data: v.X}
	d, err := data.NewDataset("torchbn", x, make([]int, v.XShape[0]), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	return m, d, &v
}

func TestReestimateBNMatchesTorch(t *testing.T) {
	m, d, v := torchBNNet(t)
	before := m.State()
	got, err := ReestimateBN(context.Background(), m, d, BNOptions{BatchSize: v.Batch})
	if err != nil {
		t.Fatal(err)
	}
	for tname, name := range map[string]string{
		"1.running_mean": "bn1/running_mean", "1.running_var": "bn1/running_var",
		"4.running_mean": "bn2/running_mean", "4.running_var": "bn2/running_var",
	} {
		g := got.Param(name).Value.Data
		for i, w := range v.Reestimated[tname] {
			// A mean is judged against the spread of what it averages: a
			// channel whose mean is near 0 (0.0106 with a standard
			// deviation near 1) cannot hold 2e-6 of its own size through
			// float32 sums, and the pure-Go and assembly GEMMs round
			// those sums differently.
			scale := math.Abs(float64(w))
			if strings.HasSuffix(tname, "running_mean") {
				sd := math.Sqrt(float64(v.Reestimated[strings.TrimSuffix(tname, "mean")+"var"][i]))
				scale = math.Max(scale, sd)
			}
			if math.Abs(float64(g[i])-float64(w)) > 2e-6*math.Max(scale, 1e-3) {
				t.Errorf("%s[%d] = %v; want %v (PyTorch update_bn)", name, i, g[i], w)
			}
		}
	}
	// Momenta restored, model unchanged, copy in inference mode.
	for i, name := range []string{"bn1", "bn2"} {
		if mo := got.Layer(name).(*nn.BatchNorm2D).Config().Momentum; mo != v.Momenta[i] {
			t.Errorf("%s momentum after re-estimation %v; want %v", name, mo, v.Momenta[i])
		}
	}
	for k, want := range before {
		for i := range want {
			if m.Param(k).Value.Data[i] != want[i] {
				t.Fatalf("ReestimateBN modified its input model (%s[%d])", k, i)
			}
		}
	}
	if got.Training() {
		t.Error("re-estimated model is in training mode")
	}
	y, err := got.Forward(d.Images)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range v.EvalOut {
		if math.Abs(float64(y.Data[i]-w)) > 1e-5*math.Max(math.Abs(float64(w)), 1) {
			t.Fatalf("inference output[%d] = %v; want %v (PyTorch)", i, y.Data[i], w)
		}
	}
	// Batches limits the data: two batches average two batch statistics.
	two, err := ReestimateBN(context.Background(), m, d, BNOptions{BatchSize: v.Batch, Batches: 2})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := d.Slice(0, 2*v.Batch)
	ref, err := ReestimateBN(context.Background(), m, first, BNOptions{BatchSize: v.Batch})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bn1/running_mean", "bn2/running_var"} {
		a, b := two.Param(name).Value.Data, ref.Param(name).Value.Data
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("Batches 2: %s[%d] = %v; want %v (first two batches)", name, i, a[i], b[i])
			}
		}
	}
}

func TestReestimateBNErrors(t *testing.T) {
	m, d, _ := torchBNNet(t)
	ctx := context.Background()
	if _, err := ReestimateBN(ctx, m, d, BNOptions{Batches: -1}); err == nil {
		t.Error("negative Batches accepted")
	}
	if _, err := ReestimateBN(ctx, m, nil, BNOptions{}); err == nil {
		t.Error("nil data accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReestimateBN(cctx, m, d, BNOptions{}); err == nil {
		t.Error("cancelled context ignored")
	}
}

// The case: training leaves stale running statistics (momentum
// 1e-4 on offset inputs); Fit's history flags it and ReestimateBN brings
// inference-mode accuracy back to about the training-mode one.
func TestReestimateBNRestoresAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	n := 400
	img := tensor.New(n, 1, 8, 8)
	labels := make([]int, n)
	for i := range labels {
		k := r.IntN(4)
		labels[i] = k
		for p := 0; p < 64; p++ {
			v := 3 + 0.6*r.Float32()
			if p/8/2 == k {
				v += 0.8
			}
			img.Data[i*64+p] = v
		}
	}
	d, err := data.NewDataset("toy", img, labels, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := arch.VGGSpec{Name: "toy", Input: []int{1, 8, 8}, Classes: 4, Stages: [][]int{{4}, {8}},
		BatchNorm: true, Init: initializers.HeNormal(), Seed: 5}.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers() {
		if bn, ok := l.(*nn.BatchNorm2D); ok {
			bn.SetMomentum(1e-4)
		}
	}
	ctx := context.Background()
	h, err := train.Fit(ctx, m, d, nil, train.Config{Epochs: 2, BatchSize: 20, Optimizer: train.SGD(0.05, 0.9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Warnings()) == 0 {
		t.Fatal("no stale batch-norm warning")
	}
	fixed, err := ReestimateBN(ctx, m, d, BNOptions{Batches: 5})
	if err != nil {
		t.Fatal(err)
	}
	before, err := train.Evaluate(ctx, m, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	after, err := train.Evaluate(ctx, fixed, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := h.Last()
	t.Logf("training-mode %.3f; inference-mode %.3f stale, %.3f re-estimated on 5 batches", last.TrainAccuracy, before.Accuracy, after.Accuracy)
	if after.Accuracy < last.TrainAccuracy-0.1 || after.Accuracy < before.Accuracy+0.3 {
		t.Errorf("re-estimated accuracy %.3f; want near training-mode %.3f and far above stale %.3f", after.Accuracy, last.TrainAccuracy, before.Accuracy)
	}
}
