package train

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

type torchVectors struct {
	Optim []struct {
		Name   string
		Config OptimizerConfig
		W0     []float32
		Grads  [][]float32
		W      [][]float32
	}
	Sched []struct {
		Name   string
		Config Schedule
		Epochs int
		LR     []float64
	}
	Fit struct {
		X            []float32
		Y            []int
		Init, Final  map[string][]float32
		Epochs       []EpochRecord
		LR, Momentum float64
		WeightDecay  float64 `json:"weight_decay"`
		Batch        int
	}
}

func loadTorch(t *testing.T) *torchVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_optim.json")
	if err != nil {
		t.Fatal(err)
	}
	var v torchVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func param(name string, w []float32, decay bool) *nn.Param {
	v, _ := tensor.From(append([]float32(nil), w...), len(w))
	return &nn.Param{Name: name, Value: v, Grad: tensor.New(len(w)), Kind: nn.Weight, Decay: decay}
}

// TestOptimizersMatchTorch replays gradient sequences through each
// optimizer and compares every step's weights with torch.optim's
// (testdata/gen_torch.py). Tolerance: 2e-6 relative plus 1e-7 absolute,
// room for PyTorch's fused multiply-adds in its vectorised kernels.
func TestOptimizersMatchTorch(t *testing.T) {
	for _, c := range loadTorch(t).Optim {
		t.Run(c.Name, func(t *testing.T) {
			p := param("w", c.W0, true)
			opt, err := NewOptimizer(c.Config, []*nn.Param{p})
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for s, g := range c.Grads {
				copy(p.Grad.Data, g)
				opt.Step(c.Config.LR)
				for i, want := range c.W[s] {
					got := p.Value.Data[i]
					d := math.Abs(float64(got - want))
					worst = max(worst, d)
					if d > 2e-6*math.Abs(float64(want))+1e-7 {
						t.Fatalf("step %d, w[%d]: got %v; want %v", s+1, i, got, want)
					}
				}
			}
			t.Logf("largest difference %.3g", worst)
		})
	}
}

func TestOptimizerClosedForms(t *testing.T) {
	t.Run("sgd one step", func(t *testing.T) {
		p := param("w", []float32{1, -2, 3}, true)
		copy(p.Grad.Data, []float32{0.5, 0.25, -1})
		opt, _ := NewOptimizer(SGD(0.1, 0.9), []*nn.Param{p})
		opt.Step(0.1)
		for i, want := range []float32{1 - 0.05, -2 - 0.025, 3 + 0.1} {
			if got := p.Value.Data[i]; got != want {
				t.Errorf("w[%d] got %v; want %v", i, got, want)
			}
		}
	})
	t.Run("momentum geometric series", func(t *testing.T) {
		// A constant gradient g under momentum μ moves the weight by
		// lr*g*(1+μ+...+μ^(k-1)) at step k.
		p := param("w", []float32{0}, false)
		opt, _ := NewOptimizer(SGD(1, 0.5), []*nn.Param{p})
		var want float64
		for k := 1; k <= 10; k++ {
			p.Grad.Data[0] = 1
			opt.Step(1)
			want -= (1 - math.Pow(0.5, float64(k))) / 0.5
			if got := float64(p.Value.Data[0]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("step %d: got %v; want %v", k, got, want)
			}
		}
	})
	t.Run("adam first step is lr*sign(g)", func(t *testing.T) {
		p := param("w", []float32{1, 1, 1}, false)
		copy(p.Grad.Data, []float32{3, -0.01, 200})
		opt, _ := NewOptimizer(Adam(0.001), []*nn.Param{p})
		opt.Step(0.001)
		for i, want := range []float64{1 - 0.001, 1 + 0.001, 1 - 0.001} {
			if got := float64(p.Value.Data[i]); math.Abs(got-want) > 1e-6 {
				t.Errorf("w[%d] got %v; want %v", i, got, want)
			}
		}
	})
	t.Run("decay only where Param.Decay", func(t *testing.T) {
		w, b := param("w", []float32{2}, true), param("b", []float32{2}, false)
		opt, _ := NewOptimizer(OptimizerConfig{Kind: SGDKind, LR: 0.5, WeightDecay: 0.1}, []*nn.Param{w, b})
		opt.Step(0.5)
		if got, want := w.Value.Data[0], float32(2-0.5*0.1*2); got != want {
			t.Errorf("decaying weight got %v; want %v", got, want)
		}
		if got, want := b.Value.Data[0], float32(2); got != want {
			t.Errorf("non-decaying bias got %v; want %v", got, want)
		}
		b.Value.Data[0] = 2
		opt2, _ := NewOptimizer(OptimizerConfig{Kind: SGDKind, LR: 0.5, WeightDecay: 0.1, DecayAll: true}, []*nn.Param{b})
		opt2.Step(0.5)
		if got, want := b.Value.Data[0], float32(2-0.5*0.1*2); got != want {
			t.Errorf("DecayAll bias got %v; want %v", got, want)
		}
	})
}

func TestOptimizerZeroAllocs(t *testing.T) {
	for _, cfg := range []OptimizerConfig{SGD(0.1, 0), SGDMomentum(), {Kind: SGDKind, LR: 0.1, Momentum: 0.9, Nesterov: true}, Adam(0.01), AdamW(0.01, 0.01)} {
		t.Run(string(cfg.Kind), func(t *testing.T) {
			ps := []*nn.Param{param("a", make([]float32, 100), true), param("b", make([]float32, 7), false)}
			opt, err := NewOptimizer(cfg, ps)
			if err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(10, func() { opt.Step(0.1) }); a != 0 {
				t.Errorf("allocations per Step got %v; want 0", a)
			}
		})
	}
}

func TestOptimizerConfigErrors(t *testing.T) {
	p := []*nn.Param{param("w", []float32{1}, true)}
	for _, c := range []struct {
		name string
		cfg  OptimizerConfig
		want string
	}{
		{"no kind", OptimizerConfig{LR: 0.1}, "has no Kind"},
		{"unknown", OptimizerConfig{Kind: "rmsprop"}, `unknown optimizer kind "rmsprop"`},
		{"negative lr", OptimizerConfig{Kind: SGDKind, LR: -1}, "LR = -1"},
		{"nan lr", OptimizerConfig{Kind: SGDKind, LR: math.NaN()}, "LR = NaN"},
		{"nesterov without momentum", OptimizerConfig{Kind: SGDKind, LR: 0.1, Nesterov: true}, "Nesterov needs"},
		{"beta1", OptimizerConfig{Kind: AdamKind, LR: 0.1, Beta1: 1}, "Beta1 = 1"},
		{"negative decay", OptimizerConfig{Kind: AdamWKind, LR: 0.1, WeightDecay: -0.1}, "WeightDecay = -0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewOptimizer(c.cfg, p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want error containing %q", err, c.want)
			}
		})
	}
	buf := &nn.Param{Name: "bn/running_mean", Value: tensor.New(3)}
	if _, err := NewOptimizer(SGDMomentum(), []*nn.Param{buf}); err == nil || !strings.Contains(err.Error(), "bn/running_mean") {
		t.Errorf("buffer without gradient: got %v; want an error naming it", err)
	}
	o, err := NewOptimizer(OptimizerConfig{}, p)
	if err != nil || o.Config() != SGDMomentum() {
		t.Errorf("zero config resolved to %+v, %v; want SGDMomentum()", o.Config(), err)
	}
}

func TestSchedulesMatchTorch(t *testing.T) {
	for _, c := range loadTorch(t).Sched {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Config.validate(); err != nil {
				t.Fatal(err)
			}
			for e, want := range c.LR {
				got := c.Config.LR(0.1, e, 0, 100, c.Epochs)
				if math.Abs(got-want) > 1e-12+1e-9*want {
					t.Errorf("epoch %d: got %.12g; want %.12g", e, got, want)
				}
			}
		})
	}
}

func TestSchedulePerStep(t *testing.T) {
	s := Schedule{Kind: Cosine, PerStep: true, WarmupEpochs: 0.5}
	// 10 batches per epoch, 2 epochs: warm-up covers steps 0..4 with
	// factors 1/5..5/5; cosine at progress t = epoch + batch/10 over 2.
	for _, c := range []struct{ epoch, batch int }{{0, 0}, {0, 3}, {0, 4}, {0, 7}, {1, 0}, {1, 9}} {
		t.Run("", func(t *testing.T) {
			tt := float64(c.epoch) + float64(c.batch)/10
			want := 0.1 * (1 + math.Cos(math.Pi*tt/2)) / 2
			if step := c.epoch*10 + c.batch; step < 5 {
				want *= float64(step+1) / 5
			}
			if got := s.LR(0.1, c.epoch, c.batch, 10, 2); math.Abs(got-want) > 1e-15 {
				t.Errorf("epoch %d batch %d: got %v; want %v", c.epoch, c.batch, got, want)
			}
		})
	}
	// Per-epoch (the default) holds the rate over an epoch.
	e := Schedule{Kind: Cosine}
	if a, b := e.LR(0.1, 1, 0, 10, 4), e.LR(0.1, 1, 9, 10, 4); a != b {
		t.Errorf("per-epoch rate changed within an epoch: %v then %v", a, b)
	}
	for _, bad := range []Schedule{{Kind: "linear"}, {Kind: Step, Milestones: []int{5, 3}}, {WarmupEpochs: -1}, {Kind: Cosine, Floor: -1}} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v: got no error; want one", bad)
		}
	}
}
