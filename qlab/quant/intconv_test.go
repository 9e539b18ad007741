package quant

import (
	"context"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestIntConv2DMatchesFakeQuant checks the integer-only convolution against
// the fake-quantized float model element by element: the integer path sums
// exactly and rounds once (gemmlowp), the float path sums in float32 and
// rounds by its own rule, so codes may differ by one step, never more.
func TestIntConv2DMatchesFakeQuant(t *testing.T) {
	build := func(t *testing.T) *nn.Model {
		c1, _ := nn.NewConv2D("conv1", nn.Conv2DConfig{In: 3, Out: 8, Kernel: 3, Bias: true})
		r1, _ := nn.NewReLU("relu1")
		c2, _ := nn.NewConv2D("conv2", nn.Conv2DConfig{In: 8, Out: 6, Kernel: 3, Stride: 2, Padding: nn.Valid, Bias: true})
		g, _ := nn.NewGlobalAvgPool("gap")
		d, _ := nn.NewDense("fc", 6, 4, true)
		m, err := nn.NewModel("int", []int{3, 11, 11}, c1, r1, c2, g, d)
		if err != nil {
			t.Fatal(err)
		}
		perturbWeights(m, 4)
		for _, p := range m.Params() {
			if p.Kind == nn.Bias {
				for i := range p.Value.Data {
					p.Value.Data[i] = float32(i%3) * 0.1
				}
			}
		}
		return m
	}
	for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8(), "fbgemm": FBGEMM()} {
		t.Run(name, func(t *testing.T) {
			m := build(t)
			calib := selfLabelled(t, m, 16, 12)
			q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(13, 4, 3, 11, 11)
			outs := map[string]*QTensor{}
			remove := q.Net.Observe(func(l nn.Layer, out *tensor.Tensor) {
				if lq := q.Layer(l.Name()); lq != nil && lq.Output != nil {
					qt, err := lq.Output.Quantize(out)
					if err != nil {
						t.Fatal(err)
					}
					outs[l.Name()] = qt
				}
			})
			if _, err := q.Forward(x); err != nil {
				t.Fatal(err)
			}
			remove()
			xq, err := q.Layer(InputName).Output.Quantize(x)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				conv, out string
				in        *QTensor
			}{{"conv1", "relu1", xq}, {"conv2", "conv2", outs["relu1"]}} {
				ic, err := q.IntConv2D(c.conv)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ic.Forward(c.in)
				if err != nil {
					t.Fatal(err)
				}
				want := outs[c.out]
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v; want %v", c.conv, got.Shape, want.Shape)
				}
				exact := 0
				for i := range want.Data {
					d := got.Data[i] - want.Data[i]
					if d < -1 || d > 1 {
						t.Fatalf("%s element %d: integer code %d; fake quant %d", c.conv, i, got.Data[i], want.Data[i])
					}
					if d == 0 {
						exact++
					}
				}
				t.Logf("%s: %d/%d codes identical, the rest within 1 LSB", c.conv, exact, len(want.Data))
				if exact < len(want.Data)*9/10 {
					t.Errorf("%s: only %d/%d codes identical", c.conv, exact, len(want.Data))
				}
			}
		})
	}
}

func BenchmarkIntConv2D(b *testing.B) {
	c, _ := nn.NewConv2D("c", nn.Conv2DConfig{In: 32, Out: 32, Kernel: 3})
	m, _ := nn.NewModel("b", []int{32, 16, 16}, c)
	in := &QParams{Scale: []float32{0.02}, ZeroPoint: []int32{128}, QMin: 0, QMax: 255, Axis: -1}
	out := &QParams{Scale: []float32{0.05}, ZeroPoint: []int32{100}, QMin: 0, QMax: 255, Axis: -1}
	w, _ := (TensorConfig{Signed: true, Symmetric: true, PerChannel: true}).QParamsFromRanges(make([]float32, 32), onesF(32), 0)
	wq, _ := w.Quantize(m.Param("c/weight").Value)
	ic, err := NewIntConv2D(c, in, wq, nil, out, "ReLU")
	if err != nil {
		b.Fatal(err)
	}
	x := &QTensor{Shape: []int{8, 32, 16, 16}, Data: make([]int32, 8*32*16*16), Params: in}
	for i := range x.Data {
		x.Data[i] = int32(i * 7 % 256)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ic.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	macs := float64(8*16*16) * 32 * 32 * 9
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func onesF(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
