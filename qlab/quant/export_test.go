package quant

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestExportRoundTrip(t *testing.T) {
	m := smallNet(t, true)
	calib := selfLabelled(t, m, 16, 11)
	for name, cfg := range map[string]Config{"tflite": TFLiteInt8(), "quint8": QUInt8(), "u16": {Weights: TensorConfig{Bits: 16}, Biases: TensorConfig{Float: true}}} {
		t.Run(name, func(t *testing.T) {
			q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := q.Export(dir); err != nil {
				t.Fatal(err)
			}
			man, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(man.Layers) != len(q.Layers) || man.Model != m.Name() {
				t.Fatalf("manifest has %d layers of %q; want %d of %q", len(man.Layers), man.Model, len(q.Layers), m.Name())
			}
			tensors := 0
			for _, el := range man.Layers {
				for role, p := range map[string]*ExportParams{"weight": el.Weight, "bias": el.Bias} {
					if p == nil {
						continue
					}
					tensors++
					qt, err := ReadTensor(dir, p)
					if err != nil {
						t.Fatal(err)
					}
					back, err := qt.Dequantize()
					if err != nil {
						t.Fatal(err)
					}
					// Nudged (TensorFlow) fake quant computes k·scale + nudged_min,
					// dequantization (k-zp)·scale: equal up to float32 rounding.
					want := q.Net.Param(el.Name + "/" + role).Value
					for i := range want.Data {
						d := math.Abs(float64(back.Data[i] - want.Data[i]))
						if d > 0 && !(p.Nudged && d <= 1e-4*float64(p.Scale[0])) {
							t.Fatalf("%s %s[%d]: dequantized %v; want %v", el.Name, role, i, back.Data[i], want.Data[i])
						}
					}
					if st, _ := os.Stat(filepath.Join(dir, p.File)); st.Size() != int64(len(want.Data)*dtypeWidth(p.DType)) {
						t.Errorf("%s: %d bytes for %d values of %s", p.File, st.Size(), len(want.Data), p.DType)
					}
				}
			}
			if tensors == 0 {
				t.Fatal("nothing exported")
			}
		})
	}
}

func TestReadTensorCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := &ExportParams{Scale: []float32{1}, ZeroPoint: []int32{0}, QMin: -127, QMax: 127, Axis: -1, DType: "int8", Shape: []int{3}, File: "w.bin"}
	cases := []struct {
		name  string
		bytes []byte
		p     ExportParams
	}{
		{"short", []byte{1, 2}, *p},
		{"out of range code", []byte{1, 0x80, 3}, *p},
		{"bad dtype", []byte{1, 2, 3}, func() ExportParams { q := *p; q.DType = "float9"; return q }()},
		{"path escape", []byte{1, 2, 3}, func() ExportParams { q := *p; q.File = "../w.bin"; return q }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "w.bin"), c.bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadTensor(dir, &c.p); !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v; want ErrCorrupt", err)
			}
		})
	}
}
