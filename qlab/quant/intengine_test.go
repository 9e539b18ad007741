package quant

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// TestIntModelDeterministic checks that the integer engine's output does
// not depend on GOMAXPROCS: chunk boundaries are fixed by the shapes and
// integer sums are exact, so the codes must be bit-identical.
func TestIntModelDeterministic(t *testing.T) {
	for _, dws := range []bool{false, true} {
		m := smallNet(t, dws)
		q, err := Quantize(context.Background(), m, selfLabelled(t, m, 32, 5), Options{Config: QUInt8()})
		if err != nil {
			t.Fatal(err)
		}
		x := selfLabelled(t, m, 48, 6).Images
		var ref []int32
		for _, procs := range []int{1, 2, 3, 8} {
			prev := runtime.GOMAXPROCS(procs)
			im, err := q.Integer()
			if err != nil {
				runtime.GOMAXPROCS(prev)
				t.Fatal(err)
			}
			y, err := im.Forward(x)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = slices.Clone(y.Data)
				continue
			}
			if !slices.Equal(y.Data, ref) {
				t.Errorf("dws=%v: GOMAXPROCS=%d gives different codes than GOMAXPROCS=1", dws, procs)
			}
		}
	}
}

// TestIntModelSteadyStateAllocs checks that a forward at a batch size seen
// before allocates nothing: every step reuses its buffers.
func TestIntModelSteadyStateAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented build allocates")
	}
	for _, dws := range []bool{false, true} {
		m := smallNet(t, dws)
		_, im := quantizeInt(t, m, selfLabelled(t, m, 16, 7), TFLiteInt8())
		x := selfLabelled(t, m, 16, 8).Images
		if _, err := im.Forward(x); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := im.Forward(x); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("dws=%v: %v allocations per steady-state forward; want 0", dws, allocs)
		}
	}
}

// TestIntPoolFlattenMatchesFakeQuant checks AvgPool2D, GlobalAvgPool and
// Flatten (whose NCHW order the NHWC engine must reproduce) against the
// fake-quantized model, element by element. The pools come first, so their
// integer input is exactly the quantized input and the only difference is
// one rounding: at most 1 LSB. Flatten feeds a Dense layer, whose output
// codes would differ by far more than 1 LSB under a wrong order.
func TestIntPoolFlattenMatchesFakeQuant(t *testing.T) {
	cases := []struct {
		name  string
		input []int
		build func() ([]nn.Layer, error)
	}{
		{"avgpool2", []int{3, 9, 9}, func() ([]nn.Layer, error) {
			p, err := nn.NewAvgPool2D("pool", 2, 2)
			return []nn.Layer{p}, err
		}},
		{"avgpool3s2", []int{4, 11, 11}, func() ([]nn.Layer, error) {
			p, err := nn.NewAvgPool2D("pool", 3, 2)
			return []nn.Layer{p}, err
		}},
		{"gap", []int{5, 7, 6}, func() ([]nn.Layer, error) {
			p, err := nn.NewGlobalAvgPool("gap")
			return []nn.Layer{p}, err
		}},
		{"flatten-dense", []int{3, 4, 5}, func() ([]nn.Layer, error) {
			f, err := nn.NewFlatten("flat")
			if err != nil {
				return nil, err
			}
			d, err := nn.NewDense("fc", 60, 7, true)
			return []nn.Layer{f, d}, err
		}},
	}
	for _, c := range cases {
		for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8()} {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				ls, err := c.build()
				if err != nil {
					t.Fatal(err)
				}
				m, err := nn.NewModel("m", c.input, ls...)
				if err != nil {
					t.Fatal(err)
				}
				perturbWeights(m, 3)
				calib := selfLabelledAny(t, m, 32, 31)
				q, im := quantizeInt(t, m, calib, cfg)
				x := randomInput(32, append([]int{16}, c.input...)...)
				got, err := im.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				y, err := q.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				want, err := q.Layers[len(q.Layers)-1].Output.Quantize(y)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Shape, want.Shape) {
					t.Fatalf("shape %v; want %v", got.Shape, want.Shape)
				}
				exact := 0
				for i := range want.Data {
					d := got.Data[i] - want.Data[i]
					if d < -1 || d > 1 {
						t.Fatalf("element %d: integer code %d; fake quant %d", i, got.Data[i], want.Data[i])
					}
					if d == 0 {
						exact++
					}
				}
				t.Logf("%d/%d codes identical, the rest within 1 LSB", exact, len(want.Data))
			})
		}
	}
}

// selfLabelledAny is selfLabelled for models whose output is not (N, K)
// logits: random images with label 0.
func selfLabelledAny(t *testing.T, m *nn.Model, n int, seed uint64) *data.Dataset {
	t.Helper()
	x := randomInput(seed, append([]int{n}, m.InputShape()...)...)
	d, err := data.NewDataset("calib", x, make([]int, n), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mnistConvNet is conv3x3(1->8)+BN+ReLU, maxpool2, conv3x3(8->16)+BN+ReLU,
// maxpool2, flatten, dense(784->10): small, quick to train, and with a
// Flatten of a spatial map, whose order the integer engine must keep.
func mnistConvNet() (*nn.Model, error) {
	c1, err := nn.NewConv2D("conv1", nn.Conv2DConfig{In: 1, Out: 8, Kernel: 3})
	if err != nil {
		return nil, err
	}
	b1, _ := nn.NewBatchNorm2D("bn1", nn.BatchNormConfig{Channels: 8})
	r1, _ := nn.NewReLU("relu1")
	p1, _ := nn.NewMaxPool2D("pool1", 2, 2)
	c2, _ := nn.NewConv2D("conv2", nn.Conv2DConfig{In: 8, Out: 16, Kernel: 3})
	b2, _ := nn.NewBatchNorm2D("bn2", nn.BatchNormConfig{Channels: 16})
	r2, _ := nn.NewReLU("relu2")
	p2, _ := nn.NewMaxPool2D("pool2", 2, 2)
	f, _ := nn.NewFlatten("flatten")
	d, _ := nn.NewDense("fc", 16*7*7, 10, true)
	return nn.NewModel("mnist-conv", []int{1, 28, 28}, c1, b1, r1, p1, c2, b2, r2, p2, f, d)
}

// TestIntModelMNISTAccuracy trains mnistConvNet briefly on MNIST (200 SGD
// steps of 32 images: about 94% test accuracy), quantizes it
// (TFLite int8, batch norm folded, 512 calibration images) and requires
// the integer engine's top-1 accuracy on the 10,000 test images to agree
// with the fake-quantized model's within 0.1 percentage point.
func TestIntModelMNISTAccuracy(t *testing.T) {
	trainSet, testSet, err := data.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mnistConvNet()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sub := trainSet.Shuffle(1).Subset(6400)
	h, err := train.Fit(ctx, m, sub, nil, train.Config{
		BatchSize: 32, Seed: 1,
		Optimizer: train.SGD(0.05, 0.9),
	})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(ctx, m, trainSet.Subset(512), Options{Config: TFLiteInt8()})
	if err != nil {
		t.Fatal(err)
	}
	im, err := q.Integer()
	if err != nil {
		t.Fatal(err)
	}
	const batch = 500
	fakeRight, intRight, disagree, worst := 0, 0, 0, int32(0)
	for lo := 0; lo < testSet.Len(); lo += batch {
		b, err := testSet.Slice(lo, min(lo+batch, testSet.Len()))
		if err != nil {
			t.Fatal(err)
		}
		y, err := q.Forward(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		yi, err := im.Forward(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		k := y.Shape[1]
		want, err := q.Layers[len(q.Layers)-1].Output.Quantize(y)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want.Data {
			worst = max(worst, v-yi.Data[i], yi.Data[i]-v)
		}
		for i, label := range b.Labels {
			if nn.Argmax(y.Data[i*k:(i+1)*k]) != argmax32(yi.Data[i*k:(i+1)*k]) {
				disagree++
			}
			if nn.Argmax(y.Data[i*k:(i+1)*k]) == label {
				fakeRight++
			}
			if argmax32(yi.Data[i*k:(i+1)*k]) == label {
				intRight++
			}
		}
	}
	n := float64(testSet.Len())
	fakeAcc, intAcc := float64(fakeRight)/n, float64(intRight)/n
	t.Logf("train loss %.4f; test top-1: fake quant %.2f%%, integer %.2f%%; predictions differ on %d images; logit codes differ by at most %d",
		h.Last().TrainLoss, 100*fakeAcc, 100*intAcc, disagree, worst)
	if fakeAcc < 0.9 {
		t.Fatalf("fake-quant accuracy %.2f%%: the network did not train, so the comparison means little", 100*fakeAcc)
	}
	if d := math.Abs(intAcc - fakeAcc); d > 0.001 {
		t.Errorf("integer top-1 %.2f%%; want within 0.1 point of fake quant %.2f%%", 100*intAcc, 100*fakeAcc)
	}
}

// TestIntModelBadInput checks that bad inputs are errors naming the cause:
// a NaN (with its element index), a tensor of the wrong rank, and one with
// the wrong channel count.
func TestIntModelBadInput(t *testing.T) {
	m := smallNet(t, false)
	_, im := quantizeInt(t, m, selfLabelled(t, m, 8, 9), TFLiteInt8())
	nan := randomInput(1, 2, 3, 12, 12)
	nan.Data[500] = float32(math.NaN())
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
		want string
	}{
		{"nan", nan, "NaN at element 500"},
		{"rank 3", randomInput(1, 3, 12, 12), "want (N, C, H, W)"},
		{"channels", randomInput(1, 2, 4, 12, 12), "4 channels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := im.Forward(c.x)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v; want an error containing %q", err, c.want)
			}
		})
	}
}

// TestIntStepsMatchFakeQuant checks every layer of the integer engine on
// reduced RefNet-S and RefNet-DWS under each preset: each step is fed the
// fake-quantized model's codes for its input and must reproduce the fake
// quantized codes of its output to within 1 LSB on every element (the
// integer path sums exactly and rounds once by gemmlowp's rule; the float
// path sums in float32 and rounds by its own, so a code may differ by one
// step, never more).
func TestIntStepsMatchFakeQuant(t *testing.T) {
	for _, dws := range []bool{false, true} {
		for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8(), "fbgemm": FBGEMM()} {
			t.Run(fmt.Sprintf("dws=%v/%s", dws, name), func(t *testing.T) {
				m := smallNet(t, dws)
				q, im := quantizeInt(t, m, selfLabelled(t, m, 64, 21), cfg)
				x := selfLabelled(t, m, 16, 23).Images
				outs := map[string]*tensor.Tensor{}
				remove := q.Net.Observe(func(l nn.Layer, out *tensor.Tensor) { outs[l.Name()] = out.Clone() })
				_, err := q.Forward(x)
				remove()
				if err != nil {
					t.Fatal(err)
				}
				in, err := im.input.Quantize(x)
				if err != nil {
					t.Fatal(err)
				}
				var a intAct
				if err := a.fromQTensor(in); err != nil {
					t.Fatal(err)
				}
				for _, s := range im.steps {
					layer := im.outName[s]
					y, err := s.run(&a)
					if err != nil {
						t.Fatal(err)
					}
					var got QTensor
					y.toQTensor(&got)
					ref, ok := outs[layer]
					if !ok {
						t.Fatalf("no fake-quant output for layer %q", layer)
					}
					want, err := y.p.Quantize(ref)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Shape, want.Shape) {
						t.Fatalf("%s: shape %v; want %v", layer, got.Shape, want.Shape)
					}
					exact := 0
					for i := range want.Data {
						d := got.Data[i] - want.Data[i]
						if d < -1 || d > 1 {
							t.Fatalf("%s element %d: integer code %d; fake quant %d", layer, i, got.Data[i], want.Data[i])
						}
						if d == 0 {
							exact++
						}
					}
					if exact < len(want.Data)*9/10 {
						t.Errorf("%s: only %d/%d codes identical", layer, exact, len(want.Data))
					}
					if err := a.fromQTensor(want); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// TestIntModelSampleParallel checks that Forward's sample-parallel path
// (every sample through the whole network, with links between planes and
// the input quantized into the first plane) gives the same codes, bit for
// bit, as the steps run one after the other, each layer-parallel, on the
// quantized input, and as Forward's layer-parallel path (a batch below
// two samples per core).
func TestIntModelSampleParallel(t *testing.T) {
	nets := intTestNets()
	nets["refnet-dws-full"] = func(t *testing.T) *nn.Model { return buildRandomized(t, arch.RefNetDWS()) }
	for net, build := range nets {
		for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8(), "fbgemm": FBGEMM()} {
			t.Run(net+"/"+name, func(t *testing.T) {
				m := build(t)
				_, im := quantizeInt(t, m, selfLabelled(t, m, 8, 31), cfg)
				x := selfLabelled(t, m, 7, 32).Images
				in, err := im.input.Quantize(x)
				if err != nil {
					t.Fatal(err)
				}
				var a intAct
				if err := a.fromQTensor(in); err != nil {
					t.Fatal(err)
				}
				y, err := runSteps(im.steps, &a)
				if err != nil {
					t.Fatal(err)
				}
				var want QTensor
				y.toQTensor(&want)
				// 7 samples: sample-parallel for GOMAXPROCS 1 and 3,
				// layer-parallel through Forward for 4.
				for _, procs := range []int{1, 3, 4} {
					prev := runtime.GOMAXPROCS(procs)
					got, err := im.Forward(x)
					runtime.GOMAXPROCS(prev)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
						t.Errorf("GOMAXPROCS=%d: Forward's codes differ from the steps run one by one", procs)
					}
				}
			})
		}
	}
}
