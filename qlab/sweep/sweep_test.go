package sweep

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/train"
)

// tinySpec is a 2x2x2 grid of seconds-long MNIST trials.
func tinySpec(dir string) *Spec {
	return &Spec{
		Name:          "tiny",
		Architectures: []Architecture{Preset("tiny-vgg")},
		Initializers:  []string{"he_normal", "random_uniform(0.1)"},
		Seeds:         []uint64{1, 2},
		Quant:         []QuantSpec{{Name: "quint8"}, {Name: "tflite_int8"}},
		Train:         train.Config{Epochs: 1, BatchSize: 16, Optimizer: train.SGD(0.1, 0.9)},
		Data:          DataSpec{TrainSubset: 1024, TestSubset: 128, CalibrationSubset: 64},
		ResultsDir:    dir,
	}
}

func TestTrialsGrid(t *testing.T) {
	s := tinySpec("")
	ts, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 4 {
		t.Fatalf("got %d trials; want 4", len(ts))
	}
	want := []struct {
		init string
		seed uint64
	}{{"he_normal", 1}, {"he_normal", 2}, {"random_uniform(0.1)", 1}, {"random_uniform(0.1)", 2}}
	ids := map[string]bool{}
	for i, tr := range ts {
		if tr.Index != i || tr.Init != want[i].init || tr.Seed != want[i].seed || tr.Arch != "tiny-vgg" {
			t.Errorf("trial %d: got (%d, %s, %s, %d); want (%d, tiny-vgg, %s, %d)", i, tr.Index, tr.Arch, tr.Init, tr.Seed, i, want[i].init, want[i].seed)
		}
		if ids[tr.ID] {
			t.Errorf("trial %d: duplicate ID %s", i, tr.ID)
		}
		ids[tr.ID] = true
		if tr.Train.Seed != tr.Seed {
			t.Errorf("trial %d: train seed %d; want %d", i, tr.Train.Seed, tr.Seed)
		}
	}
	// IDs are stable: the same settings through a JSON file and another
	// results directory give the same IDs; any setting change changes them.
	b, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSpec(b)
	if err != nil {
		t.Fatal(err)
	}
	s2.ResultsDir = "/elsewhere"
	s2.Data.Dir = "/other/mnist"
	ts2, err := s2.Trials()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		if ts2[i].ID != ts[i].ID {
			t.Errorf("trial %d: ID after JSON round trip %s; want %s", i, ts2[i].ID, ts[i].ID)
		}
	}
	s3 := tinySpec("")
	s3.Train.Epochs = 2
	ts3, _ := s3.Trials()
	if ts3[0].ID == ts[0].ID {
		t.Errorf("changing Epochs kept ID %s", ts[0].ID)
	}
}

func TestParseSpecYAML(t *testing.T) {
	y := `
name: y
architectures:
  - tiny-vgg
  - label: small
    vgg: {stages: [[4]], batch_norm: true}
initializers: [glorot_uniform, he_uniform]
seeds: [0, 1, 2]
quant: [quint8, {name: w4, config: {Weights: {Bits: 4}, Activations: {Bits: 8}, Biases: {Float: true}}}]
train: {epochs: 1, batch_size: 16}
data: {dataset: mnist, train_subset: 100}
results_dir: out
`
	s, err := ParseSpec([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ts), 2*2*3; got != want {
		t.Fatalf("got %d trials; want %d", got, want)
	}
	if ts[6].Arch != "small" || ts[6].Quant[1].Config.Weights.Bits != 4 || ts[0].Train.BatchSize != 16 {
		t.Errorf("got arch %q, w4 bits %d, batch %d; want small, 4, 16", ts[6].Arch, ts[6].Quant[1].Config.Weights.Bits, ts[0].Train.BatchSize)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"no architectures", func(s *Spec) { s.Architectures = nil }, "empty grid: no architectures"},
		{"no seeds", func(s *Spec) { s.Seeds = nil }, "no seeds"},
		{"unknown preset", func(s *Spec) { s.Architectures = []Architecture{Preset("alexnet")} }, `unknown architecture preset "alexnet"`},
		{"unknown initializer", func(s *Spec) { s.Initializers = []string{"he_normal", "kaiming_fancy"} }, `initializer "kaiming_fancy"`},
		{"unknown quant", func(s *Spec) { s.Quant = []QuantSpec{{Name: "int3"}} }, `unknown quantization preset "int3"`},
		{"unknown metric", func(s *Spec) { s.Metrics = []string{"sqnr"} }, `unknown metric "sqnr"`},
		{"unknown dataset", func(s *Spec) { s.Data.Dataset = "imagenet" }, `unknown dataset "imagenet"`},
		{"duplicate seed", func(s *Spec) { s.Seeds = []uint64{1, 1} }, "seed 1 listed twice"},
		{"two specs in one", func(s *Spec) { s.Architectures[0].ResNet = &arch.ResNetSpec{} }, "sets 2 of preset"},
		{"bad arch", func(s *Spec) {
			s.Architectures = []Architecture{{VGG: &arch.VGGSpec{Stages: [][]int{{4}, {4}, {4}, {4}, {4}, {4}}}}}
		}, `architecture "vgg"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySpec("")
			tc.edit(s)
			_, err := s.Trials()
			if err == nil || !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v; want ErrSpec containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseSpec([]byte(`{"architectures": ["tiny-vgg"], "seedz": [1]}`)); err == nil || !strings.Contains(err.Error(), "seedz") {
		t.Errorf("unknown key: got %v; want an error naming seedz", err)
	}
}

func TestStoreMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenStore(tinySpec(dir), ""); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	other := tinySpec(dir)
	other.Seeds = []uint64{1, 2, 3}
	_, err := OpenStore(other, "")
	if !errors.Is(err, ErrStoreMismatch) {
		t.Fatalf("got %v; want ErrStoreMismatch", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if !bytes.Equal(before, after) {
		t.Errorf("manifest changed by a refused spec")
	}
	if _, err := OpenStore(tinySpec(dir), ""); err != nil {
		t.Errorf("reopening with the same spec: %v", err)
	}
}

// fakeTrial is a fast deterministic trial body for store tests.
func fakeTrial(ctx context.Context, t TrialSpec, dir string) (*Record, error) {
	if t.Init == "random_uniform(0.1)" && t.Seed == 2 && os.Getenv("SWEEP_FAIL") == "1" {
		return nil, errors.New("diverged on purpose")
	}
	acc := float64(t.Seed%7) / 10
	return &Record{FP32: Eval{Accuracy: acc, N: 1}, Quant: []QuantEval{{Config: "quint8", Eval: Eval{Accuracy: acc - 0.01, N: 1}, Drop: 0.01}}}, nil
}

func TestFailureRetryAlone(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SWEEP_FAIL", "1")
	sum, err := Run(context.Background(), tinySpec(dir), Options{Trial: fakeTrial, Workers: 2})
	if !errors.Is(err, ErrTrialsFailed) || len(sum.Failures) != 1 || sum.Failures[0].Index != 3 || sum.Ran != 3 {
		t.Fatalf("got err %v, summary %+v; want one failure (trial 3) and 3 ran", err, sum)
	}
	st, _ := OpenStore(tinySpec(dir), "")
	tr, _ := st.Trial(3)
	if got := st.Status(tr); got != Failed {
		t.Fatalf("status of trial 3: got %s; want failed", got)
	}
	f, err := st.Failure(tr.ID)
	if err != nil || !strings.Contains(f.Error, "diverged on purpose") {
		t.Fatalf("failure record: got %+v, %v", f, err)
	}
	t.Setenv("SWEEP_FAIL", "0")
	sum, err = Run(context.Background(), tinySpec(dir), Options{Trial: fakeTrial, Only: []int{3}})
	if err != nil || sum.Ran != 1 || sum.Total != 1 {
		t.Fatalf("retry alone: got %v, %+v; want 1 ran of 1", err, sum)
	}
	if got := st.Status(tr); got != Done {
		t.Errorf("after retry: status %s; want done", got)
	}
	sum, err = Run(context.Background(), tinySpec(dir), Options{Trial: fakeTrial})
	if err != nil || sum.Skipped != 4 || sum.Ran != 0 {
		t.Errorf("resume: got %v, %+v; want all 4 skipped", err, sum)
	}
}

func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(tinySpec(dir), "")
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := st.Trial(0)
	unlock, ok, err := lockFile(filepath.Join(dir, "locks", tr.ID+".lock"))
	if err != nil || !ok {
		t.Fatalf("lock: %v, %v", ok, err)
	}
	out, err := st.RunTrial(context.Background(), tr, fakeTrial, false)
	if out != Busy || err != nil {
		t.Errorf("while locked: got %s, %v; want busy", out, err)
	}
	unlock()
	if out, err := st.RunTrial(context.Background(), tr, fakeTrial, false); out != Ran || err != nil {
		t.Errorf("after unlock: got %s, %v; want ran", out, err)
	}
}

// TestDefaultTrialDeterministic runs one real trial (train.Fit on an MNIST
// subset, quantized evaluation) twice in two stores, with GOMAXPROCS 2 (or
// whatever the machine has) and 1, and compares the record files byte for
// byte.
func TestDefaultTrialDeterministic(t *testing.T) {
	var recs [2][]byte
	for k := range recs {
		if k == 1 {
			// The second run on one core: records must not depend on it.
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		}
		dir := t.TempDir()
		s := tinySpec(dir)
		s.Seeds = []uint64{1}
		s.Initializers = []string{"he_normal"}
		sum, err := Run(context.Background(), s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Ran != 1 {
			t.Fatalf("got %+v; want 1 trial ran", sum)
		}
		st, _ := OpenStore(s, "")
		tr, _ := st.Trial(0)
		recs[k], err = os.ReadFile(filepath.Join(st.TrialDir(tr.ID), RecordFile))
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			r, err := st.Record(tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.FP32.N != 128 || len(r.Quant) != 2 || r.FP32.Accuracy < 0.15 || len(r.Layers) == 0 || len(r.History) != 1 {
				t.Errorf("record: N %d, %d quant evals, fp32 acc %v, %d layers, %d epochs; want 128, 2, >= 0.15 (chance 0.1), > 0, 1",
					r.FP32.N, len(r.Quant), r.FP32.Accuracy, len(r.Layers), len(r.History))
			}
			for _, q := range r.Quant {
				if d := r.FP32.Accuracy - q.Accuracy; d != q.Drop || q.N != 128 {
					t.Errorf("config %s: drop %v, N %d; want %v, 128", q.Config, q.Drop, q.N, d)
				}
			}
		}
	}
	if !bytes.Equal(recs[0], recs[1]) {
		t.Errorf("two runs of one trial gave different records:\n%s\n----\n%s", recs[0], recs[1])
	}
}

// TestTwoSweepsOneStore runs two sweeps on one store at once, each with its
// own Store (as two processes would): every trial runs exactly once.
func TestTwoSweepsOneStore(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	runs := map[string]int{}
	counting := func(ctx context.Context, tr TrialSpec, d string) (*Record, error) {
		mu.Lock()
		runs[tr.ID]++
		mu.Unlock()
		return fakeTrial(ctx, tr, d)
	}
	var wg sync.WaitGroup
	sums := make([]*Summary, 2)
	errs := make([]error, 2)
	for k := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[k], errs[k] = Run(context.Background(), tinySpec(dir), Options{Workers: 2, Trial: counting})
		}()
	}
	wg.Wait()
	for k := range sums {
		if errs[k] != nil {
			t.Fatalf("sweep %d: %v", k, errs[k])
		}
	}
	if ran := sums[0].Ran + sums[1].Ran; ran != 4 {
		t.Errorf("the two sweeps ran %d trials (%+v, %+v); want 4 in all", ran, sums[0], sums[1])
	}
	for id, n := range runs {
		if n != 1 {
			t.Errorf("trial %s ran %d times; want 1", id, n)
		}
	}
	st, _ := OpenStore(tinySpec(dir), "")
	recs, err := st.Records()
	if err != nil || len(recs) != 4 {
		t.Errorf("records: got %d, %v; want 4", len(recs), err)
	}
}

// TestSpecFileRoundTrip: the spec.json a store writes reads back to the
// same hash, for specs that use defaults, empty lists and explicit configs.
func TestSpecFileRoundTrip(t *testing.T) {
	for name, edit := range map[string]func(*Spec){
		"defaults":   func(s *Spec) { s.Quant, s.Metrics = nil, nil },
		"no metrics": func(s *Spec) { s.Metrics = []string{} },
		"one metric": func(s *Spec) { s.Metrics = []string{MetricLayers} },
		"custom arch": func(s *Spec) {
			s.Architectures = append(s.Architectures, Architecture{Label: "w", VGG: &arch.VGGSpec{Stages: [][]int{{4}}, BatchNorm: true}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := tinySpec(t.TempDir())
			edit(s)
			st, err := OpenStore(s, "")
			if err != nil {
				t.Fatal(err)
			}
			back, err := LoadSpec(st.SpecPath())
			if err != nil {
				t.Fatal(err)
			}
			h1, _ := s.Hash()
			h2, err := back.Hash()
			if err != nil || h1 != h2 {
				t.Errorf("hash %s; after spec.json %s (%v)", h1, h2, err)
			}
			if _, err := OpenStore(back, ""); err != nil {
				t.Errorf("reopening from spec.json: %v", err)
			}
		})
	}
}
