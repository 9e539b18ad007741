package torchio

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
)

var regen = flag.Bool("regen", false, "rewrite testdata/fromgo (testdata/gen_torch.py runs this, then PyTorch reads the files)")

// mnistCheckpoint is the PyTorch-trained RefNet-DWS notebook 08 loads.
const mnistCheckpoint = "reference/refnet_dws_mnist.pt"

// crossSchemes are the quint8 schemes of the quantization cross-check.
func crossSchemes() map[string]quant.Config {
	pc := quant.QUInt8()
	pc.Weights.PerChannel = true
	return map[string]quant.Config{"per_tensor": quant.QUInt8(), "per_channel": pc}
}

// mnistModel loads the shipped checkpoint into qlab's RefNet-DWS.
func mnistModel(t testing.TB) *nn.Model {
	t.Helper()
	s := arch.RefNetDWS()
	s.Input = []int{1, 28, 28}
	m, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := Load(m, mnistCheckpoint); err != nil {
		t.Fatal(err)
	}
	return m
}

// mnistData returns the calibration images (the first 1000 training
// images) and the test images (the first 1000) of the cross-check.
func mnistData(t testing.TB) (calib, test *data.Dataset) {
	t.Helper()
	calib, test, err := data.Load("mnist", data.LoadOptions{TrainN: 1000, TestN: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return calib, test
}

// quantized memoises the MNIST model's quantization per scheme: two tests
// need it and it is the slow part.
var quantized = map[string]*quant.Model{}

func quantize(t testing.TB, m *nn.Model, calib *data.Dataset, scheme string) *quant.Model {
	t.Helper()
	if q := quantized[scheme]; q != nil {
		return q
	}
	q, err := quant.Quantize(context.Background(), m, calib, quant.Options{Config: crossSchemes()[scheme]})
	if err != nil {
		t.Fatal(err)
	}
	quantized[scheme] = q
	return q
}

// TestExportForTorch writes what PyTorch checks (gen_torch.py step 5):
// every load/ model saved by qlab in both formats, the MNIST checkpoint
// BN-folded, and its quint8 fake-quant parameters per tensor and per
// channel. With -regen it rewrites testdata/fromgo; otherwise it checks
// that qlab still writes exactly the committed files, so PyTorch's
// verdicts in fromgo_torch.json are about today's output.
func TestExportForTorch(t *testing.T) {
	dir := filepath.Join("testdata", "fromgo")
	out := t.TempDir()
	if *regen {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		out = dir
	}
	var files []string
	for name := range loadCases {
		m := build(t, name)
		if err := Load(m, filepath.Join("testdata", "load", name+".pt")); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{".pt", ".safetensors"} {
			if err := Save(m, filepath.Join(out, name+ext)); err != nil {
				t.Fatal(err)
			}
			files = append(files, name+ext)
		}
	}
	m := mnistModel(t)
	folded, err := quant.FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(folded, filepath.Join(out, "mnist_folded.pt")); err != nil {
		t.Fatal(err)
	}
	files = append(files, "mnist_folded.pt")
	calib, _ := mnistData(t)
	for scheme := range crossSchemes() {
		name := "mnist_fakequant_" + scheme + ".json"
		if err := SaveFakeQuant(quantize(t, m, calib, scheme), filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	if *regen {
		return
	}
	if !simdKernels {
		t.Skip("purego build: the committed files come from a model trained with the SIMD kernels, whose float sums round differently; they were written and are compared byte for byte in the default build")
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: qlab now writes %d bytes that differ from the committed %d; run testdata/gen_torch.py", f, len(got), len(want))
		}
	}
}

// fromTorch is fromgo_torch.json: what PyTorch computed from qlab's files.
type fromTorch struct {
	Load       map[string]map[string][]float32 `json:"load"`
	CrossCheck map[string]struct {
		Accuracy    float64 `json:"accuracy"`
		Predictions []int   `json:"predictions"`
	} `json:"crosscheck"`
}

// TestTorchReadsSaved checks PyTorch's reading of qlab's files: the
// reference networks, after load_state_dict(strict=True) of the state_dict
// torch.load (or a safetensors reader) got from qlab's file, give the
// logits of the network the weights came from (bit for bit: same weights,
// same PyTorch).
func TestTorchReadsSaved(t *testing.T) {
	var ft fromTorch
	readJSON(t, "testdata/fromgo_torch.json", &ft)
	var vecs map[string]loadVector
	readJSON(t, "testdata/load.json", &vecs)
	for name, v := range vecs {
		for _, f := range []string{"pt", "safetensors"} {
			got := ft.Load[name][f]
			if len(got) != len(v.Eval) || relErr(got, v.Eval) != 0 {
				t.Errorf("%s.%s: PyTorch's logits from qlab's file %v; from the original %v", name, f, got, v.Eval)
			}
		}
	}
}

// TestQuantCrossCheck quantizes the PyTorch-trained MNIST RefNet-DWS with
// qlab (quint8, per-tensor and per-channel weights, calibrated on 1000
// training images) and compares its accuracy on the first 1000 test images
// with PyTorch's, computed by fake_quantize_per_tensor_affine /
// _per_channel_affine with qlab's parameters on the BN-folded float
// weights (gen_torch.py step 5). The accuracies must be equal (measured:
// 96.6% both ways for both schemes, and not one of the 1000 predictions
// differs; qlab's nudged quint8 rounds ties up where PyTorch rounds them
// to even, which could flip a prediction whose two largest logits are
// within one step).
func TestQuantCrossCheck(t *testing.T) {
	var ft fromTorch
	readJSON(t, "testdata/fromgo_torch.json", &ft)
	m := mnistModel(t)
	calib, test := mnistData(t)
	for scheme := range crossSchemes() {
		t.Run(scheme, func(t *testing.T) {
			want := ft.CrossCheck[scheme]
			if len(want.Predictions) != test.Len() {
				t.Fatalf("PyTorch has %d predictions; %d test images", len(want.Predictions), test.Len())
			}
			q := quantize(t, m, calib, scheme)
			out, err := q.Forward(test.Images)
			if err != nil {
				t.Fatal(err)
			}
			k := out.Shape[1]
			correct, differ := 0, 0
			for i := 0; i < test.Len(); i++ {
				row := out.Data[i*k : (i+1)*k]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				if best == test.Labels[i] {
					correct++
				}
				if best != want.Predictions[i] {
					differ++
				}
			}
			acc := float64(correct) / float64(test.Len())
			t.Logf("%s: qlab %.4f, PyTorch %.4f; %d of %d predictions differ", scheme, acc, want.Accuracy, differ, test.Len())
			if float32(acc) != float32(want.Accuracy) {
				t.Errorf("%s accuracy: qlab %.4f; PyTorch %.4f with qlab's parameters", scheme, acc, want.Accuracy)
			}
		})
	}
}
