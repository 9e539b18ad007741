package torchio

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// loadCases are the qlab specs of gen_torch.py's LOAD_CASES: every
// architecture of package arch, small, with and without batch norm.
var loadCases = map[string]arch.Spec{
	"refnet-s":   withStages(arch.RefNetS(), [][]int{{4, 4}, {8, 8}, {16}}, 3, 16),
	"refnet-dws": withStages(arch.RefNetDWS(), [][]int{{4, 4}, {8, 8}, {16}}, 3, 16),
	"vgg-nobn": arch.VGGSpec{Input: []int{1, 8, 8}, Classes: 5, Stages: [][]int{{4}, {8}},
		Activation: arch.ReLU6, Dropout: 0.1},
	"resnet-bn":   arch.ResNetSpec{Input: []int{3, 8, 8}, StemWidth: 4, Widths: []int{4, 8}, Blocks: []int{1, 1}, BatchNorm: true},
	"resnet-nobn": arch.ResNetSpec{Input: []int{3, 8, 8}, StemWidth: 4, Widths: []int{4, 8}, Blocks: []int{2, 1}},
	"mobilenet_v1-bn": arch.MobileNetV1Spec{Input: []int{3, 8, 8}, StemWidth: 4,
		Blocks: []arch.DWSBlock{{Out: 8, Stride: 1}, {Out: 8, Stride: 2}}, BatchNorm: true},
	"mobilenet_v2-bn": arch.MobileNetV2Spec{Input: []int{3, 16, 16}, StemWidth: 8,
		Blocks: []arch.Bottleneck{{Expansion: 1, Out: 4, Repeats: 1, Stride: 1}, {Expansion: 6, Out: 8, Repeats: 2, Stride: 2}, {Expansion: 6, Out: 8, Repeats: 1, Stride: 2}}, HeadWidth: 16, BatchNorm: true},
	"mobilenet_v2-nobn": arch.MobileNetV2Spec{Input: []int{3, 8, 8}, StemWidth: 4,
		Blocks: []arch.Bottleneck{{Expansion: 1, Out: 4, Repeats: 1, Stride: 1}, {Expansion: 2, Out: 4, Repeats: 2, Stride: 1}}, HeadWidth: -1},
}

func withStages(s arch.VGGSpec, stages [][]int, ch, hw int) arch.VGGSpec {
	s.Stages, s.Input = stages, []int{ch, hw, hw}
	return s
}

type loadVector struct {
	Input []int     `json:"input"`
	X     []float32 `json:"x"`
	Eval  []float32 `json:"eval"`
	Train []float32 `json:"train"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func build(t testing.TB, name string) *nn.Model {
	t.Helper()
	m, err := arch.Build(loadCases[name])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// relErr is max|got-want| / max|want|.
func relErr(got, want []float32) float64 {
	var d, s float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		s = math.Max(s, math.Abs(float64(want[i])))
	}
	return d / s
}

func logits(t testing.TB, m *nn.Model, x []float32, train bool) []float32 {
	t.Helper()
	in := m.InputShape()
	xt, err := tensor.From(append([]float32(nil), x...), append([]int{len(x) / tensor.Size(in)}, in...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.SetTraining(train)
	y, err := m.Forward(xt)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), y.Data...)
}

// TestLoadTorch loads state_dicts written by torch.save and as safetensors
// by gen_torch.py (random weights and BatchNorm statistics) into every
// architecture and compares the logits, in inference and in training mode
// (batch statistics), with PyTorch's: within 1e-5 relative to the largest
// logit (measured: below 1e-6).
func TestLoadTorch(t *testing.T) {
	var vecs map[string]loadVector
	readJSON(t, "testdata/load.json", &vecs)
	if len(vecs) != len(loadCases) {
		t.Fatalf("load.json has %d cases; loadCases %d", len(vecs), len(loadCases))
	}
	for name, v := range vecs {
		for _, ext := range []string{".pt", ".safetensors"} {
			t.Run(name+ext, func(t *testing.T) {
				m := build(t, name)
				if !reflect.DeepEqual(m.InputShape(), v.Input) {
					t.Fatalf("input %v; PyTorch's %v", m.InputShape(), v.Input)
				}
				if err := Load(m, filepath.Join("testdata", "load", name+ext)); err != nil {
					t.Fatal(err)
				}
				for _, mode := range []struct {
					train bool
					want  []float32
				}{{false, v.Eval}, {true, v.Train}} {
					if mode.want == nil { // dropout: random in training
						continue
					}
					got := logits(t, m, v.X, mode.train)
					if e := relErr(got, mode.want); e > 1e-5 {
						t.Errorf("training=%v: logits %v; PyTorch %v (relative error %.2g)", mode.train, got, mode.want, e)
					}
				}
			})
		}
	}
}

// TestRoundTrip saves every architecture in both formats and loads it
// back: bit-identical state, and the file read back equals the state_dict
// written.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name := range loadCases {
		for _, ext := range []string{".pt", ".safetensors"} {
			t.Run(name+ext, func(t *testing.T) {
				m := build(t, name)
				if err := Load(m, filepath.Join("testdata", "load", name+".pt")); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, name+ext)
				if err := Save(m, path); err != nil {
					t.Fatal(err)
				}
				m2 := build(t, name)
				if err := Load(m2, path); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(m.State(), m2.State()) {
					t.Error("state differs after the round trip")
				}
				sd, err := ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				want := StateDictOf(m, SaveOptions{})
				if !reflect.DeepEqual(sd.Names(), want.Names()) && ext == ".pt" {
					t.Errorf("keys %v; want %v", sd.Names(), want.Names())
				}
				for _, w := range want.Tensors() {
					g := sd.Tensor(w.Name)
					if g == nil || !reflect.DeepEqual(g.Floats, w.Floats) || !reflect.DeepEqual(g.Ints, w.Ints) || !sameShape(g.Shape, w.Shape) {
						t.Errorf("%s: read back %+v; wrote %+v", w.Name, g, w)
					}
				}
			})
		}
	}
}

func sameShape(a, b []int) bool { return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b)) }

// TestLoadErrors feeds state_dicts that do not fit: each error names the
// tensor, its shape and the expected one, and the model is unchanged.
func TestLoadErrors(t *testing.T) {
	good, err := ReadFile("testdata/load/refnet-dws.pt")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(ts []*Tensor) []*Tensor) *StateDict {
		var ts []*Tensor
		for _, x := range good.Tensors() {
			c := *x
			c.Shape = append([]int{}, x.Shape...)
			c.Floats = append([]float32(nil), x.Floats...)
			c.Ints = append([]int64(nil), x.Ints...)
			if x.Ints == nil {
				c.Ints = nil
			}
			if x.Floats == nil {
				c.Floats = nil
			}
			ts = append(ts, &c)
		}
		sd := NewStateDict()
		for _, x := range fn(ts) {
			if err := sd.Add(x); err != nil {
				t.Fatal(err)
			}
		}
		return sd
	}
	find := func(ts []*Tensor, name string) int {
		for i, x := range ts {
			if x.Name == name {
				return i
			}
		}
		t.Fatalf("no %s", name)
		return -1
	}
	cases := []struct {
		name string
		sd   *StateDict
		opt  LoadOptions
		want []string
	}{
		{"unknown", edit(func(ts []*Tensor) []*Tensor {
			return append(ts, &Tensor{Name: "block9.dw.weight", DType: Float32, Shape: []int{2, 1, 3, 3}, Floats: make([]float32, 18)})
		}), LoadOptions{}, []string{`unknown tensor "block9.dw.weight" of shape [2 1 3 3]`}},
		{"missing", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "block2.pw_bn.running_var")
			return append(ts[:i], ts[i+1:]...)
		}), LoadOptions{}, []string{`missing tensor "block2.pw_bn.running_var" of shape [8]`, `"block2/pw/bn/running_var"`}},
		{"misshaped", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "block1.pw.weight")
			ts[i].Shape = []int{4, 4}
			return ts
		}), LoadOptions{}, []string{`tensor "block1.pw.weight" has shape [4 4]; want [4 4 1 1]`}},
		{"transposed dense", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "head.fc.weight")
			ts[i].Shape = []int{16, 10}
			return ts
		}), LoadOptions{}, []string{`tensor "head.fc.weight" has shape [16 10]; want [10 16]`}},
		{"integer weights", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "stem.conv.weight")
			ts[i].DType, ts[i].Ints, ts[i].Floats = Int64, make([]int64, len(ts[i].Floats)), nil
			return ts
		}), LoadOptions{}, []string{`tensor "stem.conv.weight" of shape [4 3 3 3] has dtype int64`}},
		{"nan", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "stem.conv_bn.weight")
			ts[i].Floats[2] = float32(math.NaN())
			return ts
		}), LoadOptions{}, []string{`tensor "stem.conv_bn.weight" of shape [4] holds NaN at element 2`}},
		{"counter", edit(func(ts []*Tensor) []*Tensor {
			i := find(ts, "stem.conv_bn.num_batches_tracked")
			ts[i].DType, ts[i].Floats, ts[i].Ints = Float32, []float32{1}, nil
			return ts
		}), LoadOptions{}, []string{`tensor "stem.conv_bn.num_batches_tracked" has shape [] and dtype float32; want an int64 scalar`}},
		{"prefix hint", edit(func(ts []*Tensor) []*Tensor {
			for _, x := range ts {
				x.Name = "module." + x.Name
			}
			return ts
		}), LoadOptions{}, []string{`unknown tensor "module.stem.conv.weight"`, `with LoadOptions.Prefix "module." it would be "stem.conv.weight"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, "refnet-dws")
			before := m.State()
			err := LoadStateDict(m, c.sd, c.opt)
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("got %v; want ErrMismatch", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !reflect.DeepEqual(before, m.State()) {
				t.Error("the model changed")
			}
		})
	}
	t.Run("prefix", func(t *testing.T) {
		sd := edit(func(ts []*Tensor) []*Tensor {
			for _, x := range ts {
				x.Name = "module." + x.Name
			}
			return ts
		})
		m := build(t, "refnet-dws")
		if err := LoadStateDict(m, sd, LoadOptions{Prefix: "module."}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no counters", func(t *testing.T) {
		sd := edit(func(ts []*Tensor) []*Tensor {
			var out []*Tensor
			for _, x := range ts {
				if !strings.HasSuffix(x.Name, "num_batches_tracked") {
					out = append(out, x)
				}
			}
			return out
		})
		if err := LoadStateDict(build(t, "refnet-dws"), sd, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCorruptFiles truncates and damages both formats: every read fails
// with ErrFormat (no panic), and Load leaves the model unchanged.
func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".pt", ".safetensors"} {
		b, err := os.ReadFile(filepath.Join("testdata", "load", "refnet-dws"+ext))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/300)
		for n := 0; n < len(b); n += step {
			if _, err := Read(b[:n]); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s truncated to %d of %d bytes: got %v; want ErrFormat", ext, n, len(b), err)
			}
		}
		// Damaged bytes: an error or a readable file, never a panic.
		for i := 0; i < len(b); i += step {
			c := bytes.Clone(b)
			c[i] ^= 0xff
			if _, err := Read(c); err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("%s with byte %d flipped: got %v; want nil or ErrFormat", ext, i, err)
			}
		}
		path := filepath.Join(dir, "half"+ext)
		if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		m := build(t, "refnet-dws")
		before := m.State()
		err = Load(m, path)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), path) {
			t.Errorf("Load of a truncated %s: got %v; want ErrFormat naming the file", ext, err)
		}
		if !reflect.DeepEqual(before, m.State()) {
			t.Error("the model changed")
		}
	}
	if _, err := Read([]byte("hello, world")); !errors.Is(err, ErrFormat) {
		t.Errorf("text: got %v; want ErrFormat", err)
	}
}
