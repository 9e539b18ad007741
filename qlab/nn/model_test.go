package nn

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

func randTensor(seed uint64, scale float32, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	randomize(seed, scale, t)
	return t
}

// trainStep runs forward, loss and backward and returns the loss.
func trainStep(t testing.TB, m *Model, x *tensor.Tensor, labels []int) float64 {
	t.Helper()
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var ce SoftmaxCrossEntropy
	loss, err := ce.Forward(y, labels)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Backward(ce.Backward()); err != nil {
		t.Fatal(err)
	}
	return loss
}

func TestNewModelErrors(t *testing.T) {
	conv := func(name string, in int) Layer { return must(NewConv2D(name, Conv2DConfig{In: in, Out: 4, Kernel: 3})) }
	for _, tc := range []struct {
		name   string
		input  []int
		layers []Layer
		want   string
	}{
		{"wrong channels", []int{3, 8, 8}, []Layer{conv("c1", 3), conv("c2", 5)}, `Conv2D "c2": input shape [4 8 8]`},
		{"duplicate name", []int{3, 8, 8}, []Layer{conv("c", 3), conv("c", 4)}, `duplicate layer name "c"`},
		{"too small", []int{3, 1, 1}, []Layer{must(NewMaxPool2D("p", 2, 2))}, `MaxPool2D "p": input shape [3 1 1]`},
		{"dense size", []int{3, 2, 2}, []Layer{must(NewDense("fc", 10, 2, false))}, `Dense "fc": input shape [3 2 2]`},
		{"no layers", []int{3}, nil, "no layers"},
		{"residual mismatch", []int{3, 8, 8}, []Layer{must(NewResidual("res", []Layer{conv("c", 3)}, nil))}, `Residual "res"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewModel("m", tc.input, tc.layers...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"conv zero in", second(NewConv2D("c", Conv2DConfig{Out: 3, Kernel: 3}))},
		{"conv bad padding", second(NewConv2D("c", Conv2DConfig{In: 1, Out: 3, Kernel: 3, Padding: 7}))},
		{"depthwise zero channels", second(NewDepthwiseConv2D("d", DepthwiseConfig{Kernel: 3}))},
		{"bn momentum", second(NewBatchNorm2D("b", BatchNormConfig{Channels: 3, Momentum: 2}))},
		{"dropout p=1", second(NewDropout("d", 1, 0))},
		{"dense zero", second(NewDense("d", 0, 3, true))},
		{"pool kernel", second(NewMaxPool2D("p", 0, 1))},
		{"no name", second(NewReLU(""))},
		{"empty residual", second(NewResidual("r", nil, nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, ErrConfig) {
				t.Errorf("got %v; want an ErrConfig", tc.err)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestForwardShapeErrors(t *testing.T) {
	m := refNetS(t, false)
	for _, shape := range [][]int{{2, 3, 32}, {2, 1, 32, 32}, {2, 3, 16, 16}} {
		_, err := m.Forward(tensor.New(shape...))
		if !errors.Is(err, ErrShape) {
			t.Errorf("input %v: got %v; want ErrShape", shape, err)
		}
	}
	var ce SoftmaxCrossEntropy
	if _, err := ce.Forward(tensor.New(2, 10), []int{1, 10}); err == nil || !strings.Contains(err.Error(), "label 10 of sample 1") {
		t.Errorf("label out of range: got %v", err)
	}
	if _, err := ce.Forward(tensor.New(2, 10), []int{1}); !errors.Is(err, ErrShape) {
		t.Errorf("label count: got %v; want ErrShape", err)
	}
}

func TestModelAccessors(t *testing.T) {
	m := refNetS(t, false)
	if got := len(m.Layers()); got != 20 {
		t.Errorf("got %d leaves; want 20", got)
	}
	if l := m.Layer("s2_1/bn"); l == nil || l.Kind() != "BatchNorm2D" {
		t.Errorf("Layer(s2_1/bn) = %v", l)
	}
	if p := m.Param("s1_1/conv/weight"); p == nil || !tensor.SameShape(p.Value.Shape, []int{32, 3, 3, 3}) || p.Layout != initializers.Conv || !p.Decay {
		t.Errorf("Param(s1_1/conv/weight) = %+v", p)
	}
	if p := m.Param("s1_1/bn/running_var"); p == nil || p.Grad != nil || p.Kind != RunningVar {
		t.Errorf("running var buffer = %+v", p)
	}
	s := m.Summary()
	if s.TotalParams != 141034 {
		t.Errorf("total params %d; want 141034", s.TotalParams)
	}
	// conv FLOPs: 2 * in*k*k * out*h*w per sample.
	if got, want := s.Rows[3].FLOPs, int64(2*32*9*32*32*32); got != want {
		t.Errorf("s1_2/conv FLOPs %d; want %d", got, want)
	}
	if !strings.Contains(s.String(), "s3_1/conv") || !strings.Contains(s.HTML(), "<td>GlobalAvgPool</td>") {
		t.Errorf("summary text lacks rows:\n%s", s)
	}
}

func TestInitialize(t *testing.T) {
	m := refNetS(t, false)
	if err := m.Initialize(initializers.HeNormal(), 7); err != nil {
		t.Fatal(err)
	}
	w := m.Param("s2_1/conv/weight").Value
	want := tensor.New(w.Shape...)
	if err := initializers.HeNormal().Fill(want, initializers.Conv, initializers.SeedFor(7, "s2_1/conv/weight")); err != nil {
		t.Fatal(err)
	}
	for i := range w.Data {
		if w.Data[i] != want.Data[i] {
			t.Fatalf("weight %d: got %v; want %v (Fill with SeedFor)", i, w.Data[i], want.Data[i])
		}
	}
	for name, v := range map[string]float32{"s1_1/bn/gamma": 1, "s1_1/bn/beta": 0, "fc/bias": 0, "s1_1/bn/running_mean": 0, "s1_1/bn/running_var": 1} {
		for _, got := range m.Param(name).Value.Data {
			if got != v {
				t.Fatalf("%s: got %v; want %v", name, got, v)
			}
		}
	}
}

func TestObserve(t *testing.T) {
	c1 := must(NewConv2D("c1", Conv2DConfig{In: 2, Out: 2, Kernel: 3}))
	res := must(NewResidual("res", []Layer{must(NewReLU("r1")), must(NewConv2D("c2", Conv2DConfig{In: 2, Out: 2, Kernel: 3}))}, nil))
	m, err := NewModel("obs", []int{2, 4, 4}, c1, res, must(NewGlobalAvgPool("gap")))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	remove := m.Observe(func(l Layer, out *tensor.Tensor) { seen = append(seen, l.Name()) })
	x := randTensor(1, 1, 2, 2, 4, 4)
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c1", "r1", "c2", "res/add", "gap"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("observed %v; want %v", seen, want)
	}
	var names []string
	for _, l := range m.Layers() {
		names = append(names, l.Name())
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("Layers() %v; want %v", names, want)
	}
	base := append([]float32(nil), y.Data...)
	// An observer that modifies an output changes what later layers see:
	// zeroing the add output zeroes the pooled result.
	remove2 := m.Observe(func(l Layer, out *tensor.Tensor) {
		if l.Kind() == "Add" {
			out.Zero()
		}
	})
	y, _ = m.Forward(x)
	for i, v := range y.Data {
		if v != 0 {
			t.Fatalf("output %d = %v after zeroing the add; want 0", i, v)
		}
	}
	remove()
	remove2()
	seen = nil
	y, _ = m.Forward(x)
	if len(seen) != 0 {
		t.Errorf("removed observer still called: %v", seen)
	}
	for i := range base {
		if y.Data[i] != base[i] {
			t.Fatalf("output %d = %v after removing observers; want %v", i, y.Data[i], base[i])
		}
	}
}

func TestModes(t *testing.T) {
	m := refNetS(t, false)
	x := randTensor(2, 1, 4, 3, 32, 32)
	bn := m.Layer("s1_1/bn").(*BatchNorm2D)
	rm := append([]float32(nil), bn.RunningMean().Value.Data...)
	m.Eval()
	if m.Training() {
		t.Fatal("Training() true after Eval")
	}
	y1 := must(m.Forward(x)).Clone()
	for i, v := range bn.RunningMean().Value.Data {
		if v != rm[i] {
			t.Fatalf("inference forward changed running mean %d: %v -> %v", i, rm[i], v)
		}
	}
	// Inference output of one sample does not depend on the rest of the batch.
	one := must(tensor.From(x.Data[:3*32*32], 1, 3, 32, 32))
	y2 := must(m.Forward(one))
	closeTo(t, "sample 0 alone vs in batch", y2.Data, y1.Data[:10], 1e-6, 1e-6)
	m.Train()
	must(m.Forward(x))
	changed := false
	for i, v := range bn.RunningMean().Value.Data {
		changed = changed || v != rm[i]
	}
	if !changed {
		t.Error("training forward left the running mean unchanged")
	}

	d := must(NewDropout("d", 0.5, 3))
	in := randTensor(3, 1, 2, 100)
	d.SetTraining(false)
	out := must(d.Forward(in))
	for i := range in.Data {
		if out.Data[i] != in.Data[i] {
			t.Fatalf("inference dropout changed element %d", i)
		}
	}
	d.SetTraining(true)
	a := must(d.Forward(in)).Clone()
	b := must(d.Forward(in)).Clone()
	d2 := must(NewDropout("d", 0.5, 3))
	d2.SetTraining(true)
	c := must(d2.Forward(in))
	same, diff := true, false
	for i := range a.Data {
		same = same && a.Data[i] == c.Data[i]
		diff = diff || a.Data[i] != b.Data[i]
	}
	if !same || !diff {
		t.Errorf("dropout masks: same seed same first mask %v (want true), successive masks differ %v (want true)", same, diff)
	}
}

func TestCloneAndState(t *testing.T) {
	m := refNetS(t, true)
	x := randTensor(4, 1, 2, 3, 32, 32)
	trainStep(t, m, x, []int{1, 2}) // moves running stats
	m.Eval()
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if c.Training() {
		t.Error("clone of an eval model is in training mode")
	}
	y1 := must(m.Forward(x)).Clone()
	y2 := must(c.Forward(x))
	closeTo(t, "clone output", y2.Data, y1.Data, 0, 0)
	c.Param("fc/bias").Value.Data[0] += 1
	if m.Param("fc/bias").Value.Data[0] == c.Param("fc/bias").Value.Data[0] {
		t.Error("clone shares parameter storage with the original")
	}
	st := m.State()
	st["fc/bias"] = st["fc/bias"][:3]
	if err := c.LoadState(st); !errors.Is(err, ErrShape) {
		t.Errorf("LoadState with a short tensor: got %v; want ErrShape", err)
	}
	if err := c.CopyFrom(m); err != nil {
		t.Fatal(err)
	}
	closeTo(t, "after CopyFrom", must(c.Forward(x)).Data, y1.Data, 0, 0)
}

func TestCheckFinite(t *testing.T) {
	m := refNetS(t, false)
	x := randTensor(5, 1, 2, 3, 32, 32)
	must(m.Forward(x))
	if err := m.CheckFinite(); err != nil {
		t.Fatalf("finite model: %v", err)
	}
	m.Param("s2_1/conv/weight").Value.Data[5] = float32(math.Inf(1))
	must(m.Forward(x))
	err := m.CheckFinite()
	if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), `"s2_1/conv"`) {
		t.Errorf("got %v; want ErrNotFinite naming s2_1/conv", err)
	}
	if err := m.CheckParams(); err == nil || !strings.Contains(err.Error(), "s2_1/conv/weight") {
		t.Errorf("CheckParams got %v; want an error naming s2_1/conv/weight", err)
	}
}

// TestDeterministicAcrossGOMAXPROCS checks that outputs, input gradients,
// parameter gradients and running statistics are bit-identical with one
// and with several workers.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	run := func(procs int, dws bool) map[string][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m := refNetS(t, dws)
		x := randTensor(6, 1, 8, 3, 32, 32)
		trainStep(t, m, x, []int{0, 1, 2, 3, 4, 5, 6, 7})
		out := m.State()
		for _, p := range m.Params() {
			out[p.Name+".grad"] = append([]float32(nil), p.Grad.Data...)
		}
		for _, l := range m.Layers() {
			// A BatchNorm fused with its activation has no output of its own.
			if o := l.(interface{ lastOutput() *tensor.Tensor }).lastOutput(); o != nil {
				out[l.Name()+".out"] = append([]float32(nil), o.Data...)
			}
		}
		return out
	}
	for _, dws := range []bool{false, true} {
		a := run(1, dws)
		for _, procs := range []int{2, 3} {
			b := run(procs, dws)
			for k, v := range a {
				w := b[k]
				for i := range v {
					if math.Float32bits(v[i]) != math.Float32bits(w[i]) {
						t.Fatalf("dws=%v %s[%d]: GOMAXPROCS 1 gives %v, %d gives %v", dws, k, i, v[i], procs, w[i])
					}
				}
			}
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, dws := range []bool{false, true} {
		m := refNetS(t, dws)
		m.SkipInputGradient(dws) // both settings allocate nothing
		x := randTensor(7, 1, 4, 3, 32, 32)
		labels := []int{1, 2, 3, 4}
		var ce SoftmaxCrossEntropy
		step := func() {
			y, _ := m.Forward(x)
			ce.Forward(y, labels)
			m.Backward(ce.Backward())
		}
		step()
		if n := testing.AllocsPerRun(3, step); n != 0 {
			t.Errorf("dws=%v: %v allocations per training step; want 0", dws, n)
		}
		m.Eval()
		m.Forward(x)
		if n := testing.AllocsPerRun(3, func() { m.Forward(x) }); n != 0 {
			t.Errorf("dws=%v: %v allocations per inference forward; want 0", dws, n)
		}
	}
}

// TestFusedMatchesUnfused checks that the fused BatchNorm+activation passes
// (taken when nothing observes) give bit-identical outputs, input gradients
// and parameter gradients to running every layer on its own.
func TestFusedMatchesUnfused(t *testing.T) {
	for _, training := range []bool{true, false} {
		fused, plain := refNetS(t, false), refNetS(t, false)
		x := randTensor(8, 1, 3, 3, 32, 32)
		// Make gamma, beta and running stats non-trivial.
		for i, p := range append(fused.Params(), fused.Buffers()...) {
			if p.Kind != Weight {
				randomize(uint64(100+i), 0.3, p.Value)
				for j := range p.Value.Data {
					p.Value.Data[j] += 1
				}
			}
		}
		if err := plain.CopyFrom(fused); err != nil {
			t.Fatal(err)
		}
		fused.SetTraining(training)
		plain.SetTraining(training)
		plain.Observe(func(Layer, *tensor.Tensor) {}) // disables forward fusion
		yf := must(fused.Forward(x))
		yp := must(plain.Forward(x))
		closeTo(t, "output", yf.Data, yp.Data, 0, 0)
		dy := randTensor(9, 1, yf.Shape...)
		dxf := must(fused.Backward(dy))
		top := plain.TopLayers()
		g := dy
		for i := len(top) - 1; i >= 0; i-- {
			g = must(top[i].Backward(g))
		}
		closeTo(t, "dx", dxf.Data, g.Data, 0, 0)
		pf, pp := fused.Params(), plain.Params()
		for i := range pf {
			closeTo(t, pf[i].Name+" grad", pf[i].Grad.Data, pp[i].Grad.Data, 0, 0)
		}
	}
}

func TestSkipInputGradient(t *testing.T) {
	a, b := refNetS(t, false), refNetS(t, false)
	b.SkipInputGradient(true)
	x := randTensor(10, 1, 2, 3, 32, 32)
	trainStep(t, a, x, []int{1, 2})
	y := must(b.Forward(x))
	var ce SoftmaxCrossEntropy
	must(ce.Forward(y, []int{1, 2}))
	if dx := must(b.Backward(ce.Backward())); dx != nil {
		t.Errorf("Backward returned %v with SkipInputGradient; want nil", dx)
	}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		closeTo(t, pa[i].Name+" grad", pb[i].Grad.Data, pa[i].Grad.Data, 0, 0)
	}
}

// TestSequentialMatchesFlat checks that grouping layers in nested
// Sequentials changes nothing: outputs, gradients, observed layers.
func TestSequentialMatchesFlat(t *testing.T) {
	build := func(nested bool) *Model {
		c1 := must(NewConv2D("c1", Conv2DConfig{In: 2, Out: 4, Kernel: 3}))
		bn := must(NewBatchNorm2D("bn", BatchNormConfig{Channels: 4}))
		r := must(NewReLU6("r"))
		p := must(NewAvgPool2D("p", 2, 2))
		f := must(NewFlatten("f"))
		d := must(NewDense("d", 16, 3, true))
		if !nested {
			return must(NewModel("flat", []int{2, 4, 4}, c1, bn, r, p, f, d))
		}
		inner := must(NewSequential("inner", bn, r))
		block := must(NewSequential("block", c1, inner, p))
		return must(NewModel("nested", []int{2, 4, 4}, block, f, d))
	}
	flat, nested := build(false), build(true)
	if err := nested.CopyFrom(flat); err != nil {
		t.Fatal(err)
	}
	var seenFlat, seenNested []string
	flat.Observe(func(l Layer, _ *tensor.Tensor) { seenFlat = append(seenFlat, l.Name()) })
	nested.Observe(func(l Layer, _ *tensor.Tensor) { seenNested = append(seenNested, l.Name()) })
	x := randTensor(11, 2, 3, 2, 4, 4)
	yf := must(flat.Forward(x)).Clone()
	yn := must(nested.Forward(x))
	closeTo(t, "output", yn.Data, yf.Data, 0, 0)
	if strings.Join(seenFlat, ",") != strings.Join(seenNested, ",") {
		t.Errorf("observed %v nested; want %v", seenNested, seenFlat)
	}
	dy := randTensor(12, 1, 3, 3)
	dxf := must(flat.Backward(dy)).Clone()
	dxn := must(nested.Backward(dy))
	closeTo(t, "dx", dxn.Data, dxf.Data, 0, 0)
	for _, p := range flat.Params() {
		closeTo(t, p.Name+" grad", nested.Param(p.Name).Grad.Data, p.Grad.Data, 0, 0)
	}
	if nested.Layer("inner") == nil || len(nested.Layers()) != 6 {
		t.Errorf("nested model: Layer(inner) = %v, %d leaves; want a container and 6 leaves", nested.Layer("inner"), len(nested.Layers()))
	}
}

func TestSummaryResidual(t *testing.T) {
	c1 := must(NewConv2D("c1", Conv2DConfig{In: 2, Out: 2, Kernel: 3}))
	proj := must(NewPointwise("proj", 2, 2, false))
	res := must(NewResidual("res", []Layer{c1}, []Layer{proj}))
	m := must(NewModel("r", []int{2, 4, 4}, res, must(NewGlobalAvgPool("gap"))))
	s := m.Summary()
	var names []string
	for _, r := range s.Rows {
		names = append(names, r.Layer)
	}
	if got, want := strings.Join(names, ","), "c1,proj,res/add,gap"; got != want {
		t.Errorf("rows %s; want %s", got, want)
	}
	// c1: 2*(2*9)*(2*16); proj: 2*2*(2*16); add: 2*16; gap: 2*16.
	if got, want := s.TotalFLOPs, int64(2*18*32+2*2*32+32+32); got != want {
		t.Errorf("total FLOPs %d; want %d", got, want)
	}
	if got, want := s.TotalParams, 2*2*9+2*2; got != want {
		t.Errorf("total params %d; want %d", got, want)
	}
}
