package quant

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestTorchModelFakeQuant quantizes a small conv net and compares with the
// same net quantized by hand in PyTorch (testdata/gen_torch.py,
// model_fake_quant): placement of the quantizers, calibration on the float
// net, per-channel weights, and the outputs. The float convolutions sum in
// a different order in the two libraries, so calibrated scales agree to
// float32 rounding (1e-5 relative) rather than bit for bit, and output codes
// to one step.
func TestTorchModelFakeQuant(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		M struct {
			Params       map[string][]float32 `json:"params"`
			WeightScales map[string][]float32 `json:"weight_scales"`
			Calib        []float32            `json:"calib"`
			Test         []float32            `json:"test"`
			ActScale     map[string]float32   `json:"act_scale"`
			ActZP        map[string]int32     `json:"act_zero_point"`
			Out          []float32            `json:"out"`
		} `json:"model_fake_quant"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	c1, _ := nn.NewConv2D("conv1", nn.Conv2DConfig{In: 2, Out: 4, Kernel: 3, Bias: true})
	r1, _ := nn.NewReLU("relu1")
	c2, _ := nn.NewConv2D("conv2", nn.Conv2DConfig{In: 4, Out: 3, Kernel: 3, Stride: 2, Padding: nn.Valid, Bias: true})
	g, _ := nn.NewGlobalAvgPool("gap")
	fc, _ := nn.NewDense("fc", 3, 5, true)
	m, err := nn.NewModel("torch", []int{2, 9, 9}, c1, r1, c2, g, fc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadState(v.M.Params); err != nil {
		t.Fatal(err)
	}
	calibX, err := tensor.From(v.M.Calib, 16, 2, 9, 9)
	if err != nil {
		t.Fatal(err)
	}
	calib, err := data.NewDataset("calib", calibX, make([]int, 16), []string{"a", "b", "c", "d", "e"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Weights:     TensorConfig{Signed: true, Symmetric: true, PerChannel: true},
		Activations: TensorConfig{},
		Biases:      TensorConfig{Float: true},
	}
	q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range v.M.ActScale {
		lq := q.Layer(name)
		if lq == nil || lq.Output == nil {
			t.Fatalf("no quantized output at %q; PyTorch has one", name)
		}
		got := lq.Output
		if math.Abs(float64(got.Scale[0])/float64(s)-1) > 1e-5 || got.ZeroPoint[0] != v.M.ActZP[name] {
			t.Errorf("%s: got (%v, %d); PyTorch (%v, %d)", name, got.Scale[0], got.ZeroPoint[0], s, v.M.ActZP[name])
		}
	}
	for _, lq := range q.Layers {
		if lq.Output != nil {
			if _, ok := v.M.ActScale[lq.Layer]; !ok {
				t.Errorf("quantized output at %q; PyTorch has none", lq.Layer)
			}
		}
	}
	for name, s := range v.M.WeightScales {
		got := q.Layer(name).Weight
		for i := range s {
			if got.Scale[i] != s[i] {
				t.Errorf("%s weight scale[%d] = %v; PyTorch %v", name, i, got.Scale[i], s[i])
			}
		}
	}
	testX, err := tensor.From(v.M.Test, 8, 2, 9, 9)
	if err != nil {
		t.Fatal(err)
	}
	y, err := q.Forward(testX)
	if err != nil {
		t.Fatal(err)
	}
	step := float64(v.M.ActScale["fc"])
	exact := 0
	for i, want := range v.M.Out {
		d := math.Abs(float64(y.Data[i] - want))
		if d > step*1.01 {
			t.Errorf("output %d: got %v; PyTorch %v (more than one step %v apart)", i, y.Data[i], want, step)
		}
		if d < step/2 {
			exact++
		}
	}
	t.Logf("%d/%d outputs on the same code as PyTorch", exact, len(v.M.Out))
	if exact < len(v.M.Out)*9/10 {
		t.Errorf("only %d/%d outputs on the same code", exact, len(v.M.Out))
	}
}
