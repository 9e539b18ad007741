package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// The vectors come from testdata/gen_torch.py (PyTorch 1.13, float64
// arithmetic on float32-rounded inputs), so the differences measured here
// are qlab's own float32 rounding.

type torchTensor struct {
	Offset int   `json:"offset"`
	Shape  []int `json:"shape"`
}

type torchCase struct {
	Name     string                 `json:"name"`
	Kind     string                 `json:"kind"`
	Config   map[string]any         `json:"config"`
	Training bool                   `json:"training"`
	Tensors  map[string]torchTensor `json:"tensors"`
	data     []float32
}

func loadTorchCases(t *testing.T) map[string]*torchCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "torch_vectors.bin"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float32, len(raw)/4)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	idx, err := os.ReadFile(filepath.Join("testdata", "torch_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []*torchCase `json:"cases"`
	}
	if err := json.Unmarshal(idx, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]*torchCase{}
	for _, c := range file.Cases {
		c.data = data
		out[c.Name] = c
	}
	return out
}

func (c *torchCase) has(name string) bool { _, ok := c.Tensors[name]; return ok }

func (c *torchCase) get(t *testing.T, name string) *tensor.Tensor {
	t.Helper()
	tt, ok := c.Tensors[name]
	if !ok {
		t.Fatalf("case %s: no tensor %q", c.Name, name)
	}
	n := tensor.Size(tt.Shape)
	x, err := tensor.From(append([]float32(nil), c.data[tt.Offset:tt.Offset+n]...), tt.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (c *torchCase) num(key string) float64 { v, _ := c.Config[key].(float64); return v }
func (c *torchCase) flag(key string) bool   { v, _ := c.Config[key].(bool); return v }
func (c *torchCase) padding() Padding {
	if c.Config["Padding"] == "valid" {
		return Valid
	}
	return Same
}

// closeTo fails unless |got-want| <= rtol*|want| + atol*max|want| for every
// element, reporting the worst one.
func closeTo(t *testing.T, what string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values; want %d", what, len(got), len(want))
		return
	}
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	worst, wi, ratio := 0.0, -1, 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		lim := rtol*math.Abs(float64(want[i])) + atol*scale
		if lim > 0 {
			ratio = max(ratio, d/lim)
		}
		if !(d <= lim) && (wi < 0 || d-lim > worst) {
			worst, wi = d-lim, i
		}
	}
	if testing.Verbose() {
		t.Logf("%s: worst error is %.3g of the tolerance", what, ratio)
	}
	if wi >= 0 {
		t.Errorf("%s: element %d: got %v; want %v (rtol %g, atol %g x max|want| %g)", what, wi, got[wi], want[wi], rtol, atol, scale)
	}
}

// torchLayer builds the layer a case describes and loads its parameters,
// returning also the torch name of each Go param.
func torchLayer(t *testing.T, c *torchCase) (Layer, map[string]*Param) {
	t.Helper()
	var l Layer
	var err error
	ps := map[string]*Param{}
	switch c.Kind {
	case "Conv2D":
		var cv *Conv2D
		cv, err = NewConv2D(c.Name, Conv2DConfig{In: int(c.num("In")), Out: int(c.num("Out")), Kernel: int(c.num("Kernel")), Stride: int(c.num("Stride")), Padding: c.padding(), Bias: c.flag("Bias")})
		if err == nil {
			l, ps["weight"], ps["bias"] = cv, cv.Weight(), cv.Bias()
		}
	case "DepthwiseConv2D":
		var dw *DepthwiseConv2D
		dw, err = NewDepthwiseConv2D(c.Name, DepthwiseConfig{Channels: int(c.num("Channels")), Kernel: int(c.num("Kernel")), Stride: int(c.num("Stride")), Padding: c.padding(), Multiplier: int(c.num("Multiplier")), Bias: c.flag("Bias")})
		if err == nil {
			l, ps["weight"], ps["bias"] = dw, dw.Weight(), dw.Bias()
		}
	case "BatchNorm2D":
		var bn *BatchNorm2D
		bn, err = NewBatchNorm2D(c.Name, BatchNormConfig{Channels: int(c.num("Channels")), Momentum: float32(c.num("Momentum")), Eps: float32(c.num("Eps"))})
		if err == nil {
			l, ps["weight"], ps["bias"], ps["running_mean"], ps["running_var"] = bn, bn.Gamma(), bn.Beta(), bn.RunningMean(), bn.RunningVar()
		}
	case "ReLU":
		l, err = NewReLU(c.Name)
	case "ReLU6":
		l, err = NewReLU6(c.Name)
	case "MaxPool2D":
		l, err = NewMaxPool2D(c.Name, int(c.num("Kernel")), int(c.num("Stride")))
	case "AvgPool2D":
		l, err = NewAvgPool2D(c.Name, int(c.num("Kernel")), int(c.num("Stride")))
	case "GlobalAvgPool":
		l, err = NewGlobalAvgPool(c.Name)
	case "Dense":
		var d *Dense
		d, err = NewDense(c.Name, int(c.num("In")), int(c.num("Out")), c.flag("Bias"))
		if err == nil {
			l, ps["weight"], ps["bias"] = d, d.Weight(), d.Bias()
		}
	default:
		t.Fatalf("unknown kind %q", c.Kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	for tn, p := range ps {
		if p == nil {
			delete(ps, tn)
			continue
		}
		copy(p.Value.Data, c.get(t, tn).Data)
	}
	return l, ps
}

func TestTorchLayers(t *testing.T) {
	cases := loadTorchCases(t)
	for _, name := range []string{
		"conv3x3_s1_same_bias", "conv3x3_s2_same", "conv5x5_s1_valid_bias", "conv1x1_bias", "conv2x2_same", "conv3x3_s2_valid",
		"dw3x3_s1_same", "dw3x3_s2_same_mult2_bias", "dw5x5_valid_bias",
		"bn_train", "bn_eval", "relu", "relu6", "maxpool2", "maxpool3s2", "avgpool2", "avgpool3s1", "gap", "dense_bias", "dense",
	} {
		t.Run(name, func(t *testing.T) {
			c := cases[name]
			if c == nil {
				t.Fatalf("no case %q in testdata", name)
			}
			l, ps := torchLayer(t, c)
			l.SetTraining(c.Training)
			const rtol, atol = 1e-5, 2e-6
			y, err := l.Forward(c.get(t, "x"))
			if err != nil {
				t.Fatal(err)
			}
			want := c.get(t, "y")
			if tensor.Size(y.Shape) != tensor.Size(want.Shape) {
				t.Fatalf("output shape %v; want %v", y.Shape, want.Shape)
			}
			closeTo(t, "y", y.Data, want.Data, rtol, atol)
			dy := c.get(t, "dy")
			dy.Shape = y.Shape
			dx, err := l.Backward(dy)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "dx", dx.Data, c.get(t, "dx").Data, rtol, atol)
			for tn, p := range ps {
				if p.Grad != nil {
					closeTo(t, tn+".grad", p.Grad.Data, c.get(t, tn+".grad").Data, rtol, atol)
				} else {
					closeTo(t, tn+" after step", p.Value.Data, c.get(t, tn+".after").Data, rtol, atol)
				}
			}
		})
	}
}

func TestTorchCrossEntropy(t *testing.T) {
	c := loadTorchCases(t)["cross_entropy"]
	lab := c.get(t, "labels").Data
	labels := make([]int, len(lab))
	for i, v := range lab {
		labels[i] = int(v)
	}
	var ce SoftmaxCrossEntropy
	loss, err := ce.Forward(c.get(t, "logits"), labels)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "loss", []float32{float32(loss)}, c.get(t, "loss").Data, 1e-6, 0)
	closeTo(t, "dlogits", ce.Backward().Data, c.get(t, "dlogits").Data, 1e-5, 1e-7)
}

func TestTorchRefNet(t *testing.T) {
	cases := loadTorchCases(t)
	for _, tc := range []struct {
		name string
		dws  bool
	}{{"refnet_s", false}, {"refnet_dws", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := cases[tc.name]
			m := refNetS(t, tc.dws)
			for _, p := range append(m.Params(), m.Buffers()...) {
				copy(p.Value.Data, c.get(t, p.Name).Data)
			}
			lab := c.get(t, "labels").Data
			labels := []int{int(lab[0]), int(lab[1])}
			logits, err := m.Forward(c.get(t, "x"))
			if err != nil {
				t.Fatal(err)
			}
			// Float32 rounding through 5-10 layers of batch-2 BatchNorm (which
			// divides by small batch deviations) stays below these bounds.
			const rtol, atol = 1e-4, 1e-4
			closeTo(t, "logits", logits.Data, c.get(t, "logits").Data, rtol, atol)
			var ce SoftmaxCrossEntropy
			loss, err := ce.Forward(logits, labels)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "loss", []float32{float32(loss)}, c.get(t, "loss").Data, 1e-5, 0)
			dx, err := m.Backward(ce.Backward())
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "dx", dx.Data, c.get(t, "dx").Data, 3e-4, 3e-4)
			for _, p := range m.Params() {
				closeTo(t, p.Name+".grad", p.Grad.Data, c.get(t, p.Name+".grad").Data, 3e-4, 3e-4)
			}
			for _, p := range m.Buffers() {
				closeTo(t, p.Name+" after step", p.Value.Data, c.get(t, p.Name+".after").Data, 1e-5, 1e-6)
			}
			m.Eval()
			logits, err = m.Forward(c.get(t, "x"))
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "eval logits", logits.Data, c.get(t, "logits_eval").Data, rtol, atol)
			if t.Failed() {
				fmt.Println(m.Summary())
			}
		})
	}
}

// TestTorchVectorsUpToDate regenerates the vectors with gen_torch.py
// (needs Debian's python3-torch; skipped locally without it, required in
// CI) and checks they equal the committed files byte for byte, so the
// committed oracle always matches its generator.
func TestTorchVectorsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating PyTorch vectors takes a few seconds")
	}
	py := testenv.Python(t, "python3-torch", "torch")
	dir := t.TempDir()
	out, err := exec.Command(py, filepath.Join("testdata", "gen_torch.py"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gen_torch.py: %v\n%s", err, out)
	}
	for _, name := range []string{"torch_vectors.json", "torch_vectors.bin"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated file (%d bytes) differs from the committed one (%d bytes); run /usr/bin/python3 qlab/nn/testdata/gen_torch.py", name, len(got), len(want))
		}
	}
}
