package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// toyData returns n 1x8x8 images of 4 classes: class k has a bright
// horizontal bar in rows 2k..2k+1, plus uniform noise; seeded.
func toyData(t testing.TB, n int, seed uint64) *data.Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := tensor.New(n, 1, 8, 8)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		k := r.IntN(4)
		labels[i] = k
		for p := 0; p < 64; p++ {
			v := 0.6 * r.Float32()
			if p/8/2 == k {
				v += 0.8
			}
			img.Data[i*64+p] = v
		}
	}
	d, err := data.NewDataset("toy", img, labels, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func toyModel(t testing.TB, seed uint64) *nn.Model {
	t.Helper()
	m, err := arch.VGGSpec{Name: "toy", Input: []int{1, 8, 8}, Classes: 4, Stages: [][]int{{4}, {8}},
		BatchNorm: true, Dropout: 0.2, Init: initializers.HeNormal(), Seed: seed}.Build()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// toyConfig exercises every source of randomness and state: shuffling,
// augmentation, dropout, BatchNorm running statistics, Nesterov momentum,
// weight decay and a per-step schedule with warm-up.
func toyConfig() Config {
	return Config{
		Epochs: 3, BatchSize: 20, Seed: 11,
		Optimizer: OptimizerConfig{Kind: SGDKind, LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3},
		Schedule:  Schedule{Kind: Cosine, PerStep: true, WarmupEpochs: 0.5},
		Augment:   data.Augmentation{CropPadding: 1, HorizontalFlip: true},
	}
}

func sameState(t *testing.T, a, b *nn.Model) {
	t.Helper()
	sa, sb := a.State(), b.State()
	for name, va := range sa {
		vb := sb[name]
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				t.Fatalf("%s[%d]: got %v; want %v (bit-identical)", name, i, vb[i], va[i])
			}
		}
	}
}

// sameHistory compares everything but wall times.
func sameHistory(t *testing.T, a, b *History) {
	t.Helper()
	if len(a.Records) != len(b.Records) {
		t.Fatalf("histories have %d and %d epochs", len(a.Records), len(b.Records))
	}
	for i := range a.Records {
		ra, rb := a.Records[i], b.Records[i]
		ra.Seconds, rb.Seconds = 0, 0
		ja, _ := json.Marshal(ra)
		jb, _ := json.Marshal(rb)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("epoch %d: got %s; want %s", i, jb, ja)
		}
	}
}

func TestFitLearns(t *testing.T) {
	train, test := toyData(t, 240, 1), toyData(t, 80, 2)
	m := toyModel(t, 3)
	cfg := toyConfig()
	// A vertical shift can move a bar onto its neighbour's rows; flips
	// are harmless to horizontal bars.
	cfg.Augment = data.Augmentation{HorizontalFlip: true}
	cfg.Epochs = 4
	h, err := Fit(context.Background(), m, train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(h.Records), 4; got != want {
		t.Fatalf("epochs recorded got %d; want %d", got, want)
	}
	first, last := h.Records[0], h.Last()
	if !(last.TrainLoss < first.TrainLoss) {
		t.Errorf("train loss went from %v to %v; want a decrease", first.TrainLoss, last.TrainLoss)
	}
	if last.TestAccuracy < 0.9 {
		t.Errorf("test accuracy got %v; want >= 0.9 on an easy toy task", last.TestAccuracy)
	}
	if m.Training() {
		t.Errorf("model left in training mode")
	}
	// The recorded test metrics are Evaluate's on the final model.
	ev, err := Evaluate(context.Background(), m, test, 7)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Loss-last.TestLoss) > 1e-6 || ev.Accuracy != last.TestAccuracy {
		t.Errorf("Evaluate got %+v; want loss %v accuracy %v", ev, last.TestLoss, last.TestAccuracy)
	}
}

func TestFitDeterministicAcrossGOMAXPROCS(t *testing.T) {
	train, test := toyData(t, 160, 1), toyData(t, 40, 2)
	cfg := toyConfig()
	cfg.Epochs = 2
	cfg.RecordRanges = true
	fit := func(procs int) (*nn.Model, *History) {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		m := toyModel(t, 5)
		h, err := Fit(context.Background(), m, train, test, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, h
	}
	m1, h1 := fit(1)
	m2, h2 := fit(2)
	sameState(t, m1, m2)
	sameHistory(t, h1, h2)
	m3, h3 := fit(2)
	sameState(t, m2, m3)
	sameHistory(t, h2, h3)

	// The toy net is too small for nn to split its work; RefNet-S and
	// RefNet-DWS on CIFAR-shaped batches take the parallel paths.
	for _, spec := range []arch.VGGSpec{arch.RefNetS(), arch.RefNetDWS()} {
		t.Run(spec.Name, func(t *testing.T) {
			x, y := benchInput()
			ds, err := data.NewDataset("random", x, y, data.CIFAR10Classes)
			if err != nil {
				t.Fatal(err)
			}
			ds = ds.Subset(32)
			fit := func(procs int) (*nn.Model, *History) {
				prev := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(prev)
				m, err := spec.Build()
				if err != nil {
					t.Fatal(err)
				}
				h, err := Fit(context.Background(), m, ds, ds, Config{Epochs: 1, BatchSize: 16, Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				return m, h
			}
			m1, h1 := fit(1)
			m2, h2 := fit(2)
			sameState(t, m1, m2)
			sameHistory(t, h1, h2)
		})
	}
}

func TestResumeBitIdentical(t *testing.T) {
	train, test := toyData(t, 160, 1), toyData(t, 40, 2)
	base := toyConfig()
	want := toyModel(t, 7)
	wantHist, err := Fit(context.Background(), want, train, test, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("epoch-end checkpoint", func(t *testing.T) {
		cfg := base
		cfg.CheckpointDir = t.TempDir()
		m := toyModel(t, 7)
		if _, err := Fit(context.Background(), m, train, test, cfg); err != nil {
			t.Fatal(err)
		}
		ck, err := LoadCheckpoint(cfg.CheckpointDir)
		if err != nil {
			t.Fatal(err)
		}
		if ck.NextEpoch != 3 || ck.NextBatch != 0 || len(ck.History.Records) != 3 {
			t.Errorf("checkpoint at epoch %d batch %d with %d records; want 3, 0, 3", ck.NextEpoch, ck.NextBatch, len(ck.History.Records))
		}
		back := toyModel(t, 1)
		if err := back.LoadState(ck.State); err != nil {
			t.Fatal(err)
		}
		sameState(t, want, back)
		ents, _ := os.ReadDir(cfg.CheckpointDir)
		if len(ents) != 1 || ents[0].Name() != CheckpointFile {
			t.Errorf("checkpoint dir holds %v; want only %s", ents, CheckpointFile)
		}
	})
	// Interrupt checkpointing runs at several points (8 batches per
	// epoch); resume into a differently initialized model of the same
	// architecture, so everything must come from the checkpoint.
	for _, c := range []struct {
		name         string
		epoch, batch int // cancel in the Progress call of this batch (1-based)
		noTest       bool
		where        string
	}{
		{"mid-epoch", 1, 3, false, "epoch 1, step 11 (batch index 3 of 8)"},
		{"first batch", 0, 1, false, "epoch 0, step 1 (batch index 1 of 8)"},
		{"during evaluation", 1, 8, false, "epoch 1: train: evaluating"},
		{"mid-epoch without test set", 2, 5, true, "epoch 2, step 21 (batch index 5 of 8)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			testSet, wantH := test, wantHist
			wantM := want
			if c.noTest {
				testSet = nil
				wantM = toyModel(t, 7)
				var err error
				if wantH, err = Fit(context.Background(), wantM, train, nil, base); err != nil {
					t.Fatal(err)
				}
			}
			cfg := base
			cfg.CheckpointDir = t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			cfg.Progress = func(p Progress) {
				calls++
				if p.Epoch == c.epoch && p.Batch == c.batch {
					cancel()
				}
			}
			h, err := Fit(ctx, toyModel(t, 7), train, testSet, cfg)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v; want an error wrapping context.Canceled", err)
			}
			if !strings.Contains(err.Error(), c.where) {
				t.Errorf("error %q does not say where it stopped (%q)", err, c.where)
			}
			// Stopped within one batch: no batch ran after the one that
			// cancelled.
			if got, want := calls, 8*c.epoch+c.batch; got != want {
				t.Errorf("progress calls got %d; want %d", got, want)
			}
			if got := len(h.Records); got != c.epoch {
				t.Errorf("partial history has %d epochs; want %d", got, c.epoch)
			}
			cfg.Progress = nil
			resumed := toyModel(t, 99)
			got, err := Resume(context.Background(), resumed, train, testSet, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, wantM, resumed)
			sameHistory(t, wantH, got)
		})
	}

	t.Run("mismatch", func(t *testing.T) {
		cfg := base
		cfg.CheckpointDir = t.TempDir()
		cfg.Epochs = 1
		if _, err := Fit(context.Background(), toyModel(t, 7), train, test, cfg); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			mod  func(c *Config)
			want string
		}{
			{"seed", func(c *Config) { c.Seed = 12 }, "seed 11"},
			{"optimizer", func(c *Config) { c.Optimizer = Adam(0.01) }, "optimizer"},
			{"batch size", func(c *Config) { c.BatchSize = 40 }, "8 batches per epoch"},
		} {
			bad := cfg
			c.mod(&bad)
			if _, err := Resume(context.Background(), toyModel(t, 1), train, test, bad); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v; want an error containing %q", c.name, err, c.want)
			}
		}
		os.WriteFile(filepath.Join(cfg.CheckpointDir, CheckpointFile), []byte("garbage"), 0o644)
		if _, err := Resume(context.Background(), toyModel(t, 1), train, test, cfg); err == nil || !strings.Contains(err.Error(), CheckpointFile) {
			t.Errorf("corrupt checkpoint: got %v; want an error naming the file", err)
		}
	})
}

func TestFitNonFinite(t *testing.T) {
	train := toyData(t, 60, 1)
	t.Run("weight", func(t *testing.T) {
		m := toyModel(t, 1)
		m.Param("block1/conv/weight").Value.Data[5] = float32(math.NaN())
		_, err := Fit(context.Background(), m, train, nil, Config{BatchSize: 20})
		if !errors.Is(err, ErrNotFinite) {
			t.Fatalf("got %v; want an error wrapping ErrNotFinite", err)
		}
		for _, want := range []string{"epoch 0, step 0 (batch index 0", `"block1/conv"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})
	t.Run("divergence", func(t *testing.T) {
		m := toyModel(t, 1)
		_, err := Fit(context.Background(), m, train, nil, Config{BatchSize: 20, Epochs: 50,
			Optimizer: OptimizerConfig{Kind: SGDKind, LR: 1e30}})
		if !errors.Is(err, ErrNotFinite) {
			t.Fatalf("got %v; want an error wrapping ErrNotFinite", err)
		}
		if !strings.Contains(err.Error(), "step ") {
			t.Errorf("error %q does not name the step", err)
		}
		t.Log(err)
	})
	t.Run("data", func(t *testing.T) {
		bad := train.Clone()
		bad.Images.Data[3] = float32(math.Inf(1))
		_, err := Fit(context.Background(), toyModel(t, 1), bad, nil, Config{BatchSize: 20, NoShuffle: true})
		if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), `"stem/conv"`) {
			t.Fatalf("got %v; want ErrNotFinite naming stem/conv", err)
		}
	})
}

func TestRecordRanges(t *testing.T) {
	train, test := toyData(t, 100, 1), toyData(t, 30, 2)
	m := toyModel(t, 2)
	cfg := Config{BatchSize: 25, RecordRanges: true, Epochs: 2}
	h, err := Fit(context.Background(), m, train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ranges := h.Last().Ranges
	if got, want := len(ranges), len(m.Layers()); got != want {
		t.Fatalf("ranges for %d layers; want %d", got, want)
	}
	// Oracle: the weights as they are now, and an independent
	// observation of one inference pass over the whole test set.
	lo, hi := map[string]float32{}, map[string]float32{}
	remove := m.Observe(func(l nn.Layer, out *tensor.Tensor) {
		for _, v := range out.Data {
			if _, ok := lo[l.Name()]; !ok {
				lo[l.Name()], hi[l.Name()] = v, v
			}
			lo[l.Name()], hi[l.Name()] = min(lo[l.Name()], v), max(hi[l.Name()], v)
		}
	})
	m.SetTraining(false)
	if _, err := m.Forward(test.Images); err != nil {
		t.Fatal(err)
	}
	remove()
	for _, r := range ranges {
		if r.ActMin != lo[r.Layer] || r.ActMax != hi[r.Layer] {
			t.Errorf("%s activations got [%v, %v]; want [%v, %v]", r.Layer, r.ActMin, r.ActMax, lo[r.Layer], hi[r.Layer])
		}
		l := m.Layer(r.Layer)
		var w *nn.Param
		for _, p := range l.Params() {
			if p.Kind == nn.Weight {
				w = p
			}
		}
		if (w != nil) != r.HasWeight {
			t.Fatalf("%s: HasWeight %v; layer has weight: %v", r.Layer, r.HasWeight, w != nil)
		}
		if w != nil {
			wl, wh := w.Value.Data[0], w.Value.Data[0]
			for _, v := range w.Value.Data {
				wl, wh = min(wl, v), max(wh, v)
			}
			if r.WeightMin != wl || r.WeightMax != wh {
				t.Errorf("%s weights got [%v, %v]; want [%v, %v]", r.Layer, r.WeightMin, r.WeightMax, wl, wh)
			}
		}
		if r.Kind == "ReLU" && r.ActMin < 0 {
			t.Errorf("%s: ReLU output min %v < 0", r.Layer, r.ActMin)
		}
	}
	var csv bytes.Buffer
	if err := h.WriteRangesCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(csv.String(), "\n"), 1+2*len(ranges); got != want {
		t.Errorf("ranges CSV has %d lines; want %d", got, want)
	}
}

func TestHistoryExport(t *testing.T) {
	h := &History{Model: "m", Records: []EpochRecord{
		{Epoch: 0, TrainLoss: 1.5, TrainAccuracy: 0.25, TestLoss: 1.25, TestAccuracy: 0.5, HasTest: true, LR: 0.1, Seconds: 2},
		{Epoch: 1, TrainLoss: 0.75, TrainAccuracy: 0.75, LR: 0.01, Seconds: 3},
	}}
	want := "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds\n" +
		"0,1.5,0.25,1.25,0.5,0.1,2\n" +
		"1,0.75,0.75,,,0.01,3\n"
	if got := h.CSV(); got != want {
		t.Errorf("CSV got\n%s\nwant\n%s", got, want)
	}
	j, err := h.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back History
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	sameHistory(t, h, &back)
	if !strings.Contains(h.String(), "75.00%") {
		t.Errorf("String() = %q lacks the accuracy", h.String())
	}
}

func TestFitErrors(t *testing.T) {
	train := toyData(t, 40, 1)
	m := toyModel(t, 1)
	other := data.Dataset{Name: "big", Images: tensor.New(2, 3, 8, 8), Labels: []int{0, 1}, Classes: []string{"a", "b"}}
	many := train.Clone()
	many.Classes = append(many.Classes, "e", "f", "g", "h", "i", "j", "k")
	for _, c := range []struct {
		name  string
		model *nn.Model
		train *data.Dataset
		test  *data.Dataset
		cfg   Config
		want  string
	}{
		{"nil model", nil, train, nil, Config{}, "nil model"},
		{"nil data", m, nil, nil, Config{}, "no training dataset"},
		{"shape", m, &other, nil, Config{}, "shape [3 8 8]; model \"toy\" takes [1 8 8]"},
		{"test shape", m, train, &other, Config{}, "test dataset \"big\""},
		{"classes", m, many, nil, Config{}, "11 classes"},
		{"epochs", m, train, nil, Config{Epochs: -1}, "Epochs -1"},
		{"optimizer", m, train, nil, Config{Optimizer: OptimizerConfig{Kind: "lbfgs"}}, "lbfgs"},
		{"schedule", m, train, nil, Config{Schedule: Schedule{Kind: "exp"}}, "exp"},
		{"drop everything", m, train, nil, Config{BatchSize: 64, DropLast: true}, "no batch of 64"},
		{"resume without dir", m, train, nil, Config{}, "CheckpointDir"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.name == "resume without dir" {
				_, err = Resume(context.Background(), c.model, c.train, c.test, c.cfg)
			} else {
				_, err = Fit(context.Background(), c.model, c.train, c.test, c.cfg)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want error containing %q", err, c.want)
			}
		})
	}
}

func TestTextProgress(t *testing.T) {
	var b bytes.Buffer
	cfg := Config{BatchSize: 10, Epochs: 2, Progress: TextProgress(&b, 1e18)}
	if _, err := Fit(context.Background(), toyModel(t, 1), toyData(t, 30, 1), nil, cfg); err != nil {
		t.Fatal(err)
	}
	// The first batch and the last batch of each epoch print; the
	// interval suppresses the rest.
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines %q; want 3", len(lines), lines)
	}
	for i, prefix := range []string{"epoch 1/2 batch 1/3 ", "epoch 1/2 batch 3/3 ", "epoch 2/2 batch 3/3 "} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q; want prefix %q", i, lines[i], prefix)
		}
	}
}

// TestFitStepAllocs checks that training steps allocate nothing: two more
// epochs of 40 batches may only add the per-epoch allocations (iterator,
// history record), not per-batch ones.
func TestFitStepAllocs(t *testing.T) {
	train := toyData(t, 800, 1)
	allocs := func(epochs int) float64 {
		m := toyModel(t, 1)
		// Without the per-epoch inference pass on training images (its
		// batches allocate like Evaluate's, once per epoch).
		cfg := Config{BatchSize: 20, Epochs: epochs, TrainEvalSubset: -1}
		return testing.AllocsPerRun(2, func() {
			if _, err := Fit(context.Background(), m, train, nil, cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, three := allocs(1), allocs(3)
	if per := (three - one) / 2; per > 8 {
		t.Errorf("allocations per extra epoch of 40 batches got %v; want <= 8 (none per batch)", per)
	}
}
