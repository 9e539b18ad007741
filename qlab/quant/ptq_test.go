package quant

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// meanGaps returns, per layer with quantized weights, the largest
// |E_q[y] − E_float[y]| over channels (raw layer outputs, calibration data)
// divided by the layer's output RMS.
func meanGaps(t *testing.T, q *Model, ref *nn.Model, d *data.Dataset) map[string]float64 {
	t.Helper()
	want := map[string]bool{}
	for _, lq := range q.Layers {
		if lq.Weight != nil {
			want[lq.Layer] = true
		}
	}
	ctx := context.Background()
	ref.Eval()
	fm, err := channelMeans(ctx, ref, d, 0, 64, want)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := q.rawChannelMeans(ctx, d, 0, 64, want)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name := range want {
		rms := 0.0
		for _, v := range fm[name] {
			rms += v * v
		}
		rms = math.Sqrt(rms/float64(len(fm[name]))) + 1e-12
		g := 0.0
		for c := range fm[name] {
			g = max(g, math.Abs(qm[name][c]-fm[name][c]))
		}
		out[name] = g / rms
	}
	return out
}

func fourBit() Config {
	c := TFLiteInt8()
	c.Weights.Bits, c.Weights.PerChannel = 4, false
	return c
}

func TestEmpiricalBiasCorrection(t *testing.T) {
	m := smallNet(t, true)
	unbalance(m, 7)
	calib := selfLabelled(t, m, 128, 3)
	ctx := context.Background()
	ref, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	// Float biases: with int32 biases the corrected bias is rounded to the
	// accumulator scale (s_in·s_w, coarse at 4 bits), which the correction
	// cannot undo.
	cfg := fourBit()
	cfg.Biases = TensorConfig{Float: true}
	plain, err := Quantize(ctx, m, calib, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := Quantize(ctx, m, calib, Options{Config: cfg, PTQ: PTQ{BiasCorrection: EmpiricalBiasCorrection}})
	if err != nil {
		t.Fatal(err)
	}
	before, after := meanGaps(t, plain, ref, calib), meanGaps(t, bc, ref, calib)
	if len(bc.PTQ().Biases) != len(after) {
		t.Errorf("%d layers corrected; want %d", len(bc.PTQ().Biases), len(after))
	}
	worst := 0.0
	for name, g := range after {
		t.Logf("%-12s mean gap / RMS: plain %.3g, corrected %.3g", name, before[name], g)
		if g > 1e-4 {
			t.Errorf("%s: expected output off by %.3g of its RMS after correction; want <= 1e-4", name, g)
		}
		worst = max(worst, before[name])
	}
	if worst < 1e-2 {
		t.Errorf("4-bit quantization shifted no layer's mean by more than %.3g: the test checks nothing", worst)
	}
}

// gaussNet is conv3x3(3->8)+BN+ReLU → conv1x1(8->6): with Gaussian input
// the batch norm's output is Gaussian per channel, the analytic model.
func gaussNet(t *testing.T) (*nn.Model, *data.Dataset) {
	t.Helper()
	m := tinyPair(t, false)
	x := randomInput(11, 2048, 3, 6, 6)
	d, err := data.NewDataset("gauss", x, make([]int, 2048), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	return m, d
}

func TestAnalyticBiasCorrection(t *testing.T) {
	m, d := gaussNet(t)
	ctx := context.Background()
	// Statistics re-estimated on the data, so gamma and beta describe it.
	src, err := ReestimateBN(ctx, m, d, BNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := FoldBatchNorm(src)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fourBit()
	cfg.Activations = TensorConfig{Float: true}
	cfg.Biases = TensorConfig{Float: true}
	plain, err := Quantize(ctx, src, d, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	abc, err := Quantize(ctx, src, nil, Options{Config: cfg, PTQ: PTQ{BiasCorrection: AnalyticBiasCorrection}})
	if err != nil {
		t.Fatal(err)
	}
	rep := abc.PTQ()
	if len(rep.Biases) != 1 || rep.Biases[0].Layer != "c2" {
		t.Fatalf("corrected %v; want c2 only", rep.Biases)
	}
	if len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0], "c1:") {
		t.Errorf("skipped %v; want c1 (no batch-normalized input)", rep.Skipped)
	}
	before, after := meanGaps(t, plain, ref, d)["c2"], meanGaps(t, abc, ref, d)["c2"]
	t.Logf("c2 mean gap / RMS: plain %.3g, analytic %.3g", before, after)
	if !(after < 0.2*before) {
		t.Errorf("analytic correction left %.3g of %.3g; want below a fifth", after, before)
	}
}

func TestClippedGaussianMean(t *testing.T) {
	// Closed forms against a midpoint-rule integral.
	for _, tc := range []struct {
		mu, sigma float64
		act       string
	}{{0.3, 1.2, "ReLU"}, {-1, 0.5, "ReLU"}, {5, 2, "ReLU6"}, {1, 3, "ReLU6"}, {2, 1, ""}} {
		got := clippedGaussianMean(tc.mu, tc.sigma, tc.act)
		want, h := 0.0, 1e-3
		for z := -12.0; z < 12; z += h {
			x := tc.mu + tc.sigma*(z+h/2)
			a, _ := activate(x, tc.act)
			want += a * math.Exp(-(z+h/2)*(z+h/2)/2) / math.Sqrt(2*math.Pi) * h
		}
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("E[%s(N(%v, %v²))] = %v; want %v", tc.act, tc.mu, tc.sigma, got, want)
		}
	}
}

// singleLayer is conv3x3(4->6, bias)+ReLU, one layer to round.
func singleLayer(t *testing.T) (*nn.Model, *data.Dataset) {
	t.Helper()
	c, _ := nn.NewConv2D("conv", nn.Conv2DConfig{In: 4, Out: 6, Kernel: 3, Bias: true})
	r, _ := nn.NewReLU("relu")
	m, err := nn.NewModel("single", []int{4, 6, 6}, c, r)
	if err != nil {
		t.Fatal(err)
	}
	perturbWeights(m, 8)
	x := randomInput(12, 256, 4, 6, 6)
	d, err := data.NewDataset("x", x, make([]int, 256), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	return m, d
}

func TestAdaRoundSingleLayer(t *testing.T) {
	m, d := singleLayer(t)
	ctx := context.Background()
	for _, perChannel := range []bool{false, true} {
		cfg := TFLiteInt8()
		cfg.Weights.Bits, cfg.Weights.PerChannel = 4, perChannel
		cfg.Activations = TensorConfig{Float: true}
		cfg.Biases = TensorConfig{Float: true}
		opt := Options{Config: cfg, PTQ: PTQ{AdaRound: true, AdaRoundOptions: AdaRoundOptions{Seed: 3, Iterations: 600}}}
		q, err := Quantize(ctx, m, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		row := q.PTQ().AdaRound[0]
		t.Logf("per-channel %v: nearest %.5g, AdaRound %.5g, %d of %d flipped", perChannel, row.NearestLoss, row.AdaRoundLoss, row.Flipped, row.Weights)
		if !(row.AdaRoundLoss < row.NearestLoss) || row.Flipped == 0 {
			t.Errorf("per-channel %v: AdaRound loss %v not below nearest %v (%d flipped)", perChannel, row.AdaRoundLoss, row.NearestLoss, row.Flipped)
		}
		// Every weight is floor or ceil of its float value: within a step.
		wq, wf := q.Net.Param("conv/weight").Value.Data, m.Param("conv/weight").Value.Data
		lq := q.Layer("conv")
		per := len(wf) / len(lq.Weight.Scale)
		for i := range wf {
			s := float64(lq.Weight.Scale[i/per*btoi(perChannel)])
			if d := math.Abs(float64(wq[i]) - float64(wf[i])); d > s*(1+1e-5) {
				t.Fatalf("weight %d moved %v, more than one step %v", i, d, s)
			}
		}
		if !onGrid(lq.Weight, q.Net.Param("conv/weight").Value) {
			t.Error("AdaRound weights are off the quantization grid")
		}
		// Same seed, any GOMAXPROCS: the same weights.
		prev := runtime.GOMAXPROCS(1)
		q1, err := Quantize(ctx, m, d, opt)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range q1.Net.Param("conv/weight").Value.Data {
			if v != wq[i] {
				t.Fatalf("GOMAXPROCS 1: weight %d = %v; want %v", i, v, wq[i])
			}
		}
	}
	// Interruptible.
	cctx, cancel := context.WithCancel(ctx)
	calls := 0
	opt := Options{Config: fourBit(), PTQ: PTQ{AdaRound: true, AdaRoundOptions: AdaRoundOptions{Progress: func(p AdaRoundProgress) {
		if calls++; calls == 5 {
			cancel()
		}
	}}}}
	if _, err := Quantize(cctx, m, d, opt); err == nil || calls != 5 {
		t.Errorf("cancelled AdaRound: err %v after %d iterations; want context.Canceled after 5", err, calls)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParsePTQ(t *testing.T) {
	for _, s := range []string{"plain", "cle", "cle+bc", "cle+abc", "adaround", "bn+cle+adaround+bc", "cle+adaround(200)"} {
		p, err := ParsePTQ(s)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != s {
			t.Errorf("ParsePTQ(%q).String() = %q", s, p.String())
		}
	}
	for _, bad := range []string{"cle+bcc", "adaround(0)", "adaround(5"} {
		if _, err := ParsePTQ(bad); err == nil {
			t.Errorf("ParsePTQ(%q) accepted", bad)
		}
	}
}
