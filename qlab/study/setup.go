package study

import (
	"context"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/figures"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/train"
)

// Setup is a training setup of the study, with fields named after the
// notebooks' parameters: the data, a VGG-like network family (its
// initializer is given per model) and SGD with momentum. The zero value
// trains RefNet-S widths without batch norm on all of embedded MNIST for
// one epoch at train.SGDMomentum's defaults; the notebooks set every field
// from their parameters cell.
type Setup struct {
	// Dataset and DataDir name the data as data.Load reads it ("" means
	// "mnist" from its default place); TrainN and TestN keep the first
	// images of each split (0 = all).
	Dataset, DataDir string
	TrainN, TestN    int
	// Stages, Block and BatchNorm are those of arch.VGGSpec (nil Stages
	// means arch.DefaultVGGStages, "" Block means regular); input shape and
	// class count come from the data.
	Stages    [][]int
	Block     arch.BlockKind
	BatchNorm bool
	// Epochs and BatchSize are those of train.Config (0 means its
	// defaults, 1 and 64). LR is the SGD learning rate (0 means
	// train.SGDMomentum's 0.01); momentum 0.9 and weight decay 5e-4 are
	// train.SGDMomentum's.
	Epochs, BatchSize int
	LR                float64
	// Seed seeds the weights (arch.VGGSpec.Seed) and the data order
	// (train.Config.Seed).
	Seed int
	// Cache configures the model cache (zero: DefaultCacheDir).
	Cache CacheOptions
	// NoProgress hides the per-model progress bar (train.ProgressBar).
	NoProgress bool
}

// Load reads the setup's data: data.Load(Dataset, {DataDir, TrainN, TestN}).
func (s Setup) Load() (trainSet, testSet *data.Dataset, err error) {
	return data.Load(s.Dataset, data.LoadOptions{Dir: s.DataDir, TrainN: s.TrainN, TestN: s.TestN})
}

// Spec returns the network the setup trains with the named initializer
// (initializers.Parse syntax) for data of the given per-sample shape and
// class count. Its name is "<block>[+bn] <init>", e.g. "regular+bn he_normal".
func (s Setup) Spec(init string, shape []int, classes int) (arch.VGGSpec, error) {
	in, err := initializers.Parse(init)
	if err != nil {
		return arch.VGGSpec{}, fmt.Errorf("study: %w", err)
	}
	// The spec keeps zero values for defaults (Block "" is regular), as
	// qlab/sweep's specs do, so both share model cache entries.
	block, name := s.Block, string(s.Block)
	if block == arch.Regular || block == "" {
		block, name = "", string(arch.Regular)
	}
	if s.BatchNorm {
		name += "+bn"
	}
	return arch.VGGSpec{Name: name + " " + init, Input: shape, Classes: classes, Stages: s.Stages,
		Block: block, BatchNorm: s.BatchNorm, Init: in, Seed: uint64(s.Seed)}, nil
}

// Config returns the training configuration: Epochs, BatchSize, SGD with
// momentum at LR, Seed, and RecordRanges on (every layer's weight and
// activation range after each epoch).
func (s Setup) Config() train.Config {
	opt := train.SGDMomentum()
	if s.LR != 0 {
		opt.LR = s.LR
	}
	return train.Config{Epochs: s.Epochs, BatchSize: s.BatchSize, Optimizer: opt, Seed: uint64(s.Seed), RecordRanges: true}
}

// Train loads the data and trains (or loads from the cache, see Train) one
// network per initializer of inits, in order.
func (s Setup) Train(ctx context.Context, inits []string) (*Models, error) {
	if len(inits) == 0 {
		return nil, fmt.Errorf("study: setup: no initializers to train")
	}
	trainSet, testSet, err := s.Load()
	if err != nil {
		return nil, fmt.Errorf("study: setup: %w", err)
	}
	out := &Models{Setup: s, TrainSet: trainSet, TestSet: testSet}
	for _, init := range inits {
		spec, err := s.Spec(init, trainSet.Shape(), trainSet.NumClasses())
		if err != nil {
			return nil, err
		}
		cfg := s.Config()
		if !s.NoProgress {
			cfg.Progress = train.ProgressBar(spec.Name)
		}
		t, err := Train(ctx, spec, trainSet, testSet, cfg, s.Cache)
		if err != nil {
			return nil, err
		}
		out.Inits = append(out.Inits, init)
		out.Trained = append(out.Trained, t)
	}
	return out, nil
}

// Models are the networks of one Setup, one per initializer, with the data
// they were trained and tested on.
type Models struct {
	Setup             Setup
	TrainSet, TestSet *data.Dataset
	// Inits[i] names the initializer of Trained[i].
	Inits   []string
	Trained []*Trained
}

// Len returns the number of models.
func (m *Models) Len() int { return len(m.Trained) }

// Model returns the i-th trained network.
func (m *Models) Model(i int) *nn.Model { return m.Trained[i].Model }

// Nets returns the trained networks in order.
func (m *Models) Nets() []*nn.Model {
	out := make([]*nn.Model, len(m.Trained))
	for i, t := range m.Trained {
		out[i] = t.Model
	}
	return out
}

// History returns the training history of the i-th network.
func (m *Models) History(i int) *train.History { return m.Trained[i].History }

// Curves returns the histories as figures.TrainingCurves input, one run per
// initializer: epochs counted from 1, losses in nats, accuracies in
// percent.
func (m *Models) Curves() []figures.Run {
	out := make([]figures.Run, 0, len(m.Trained))
	for i, t := range m.Trained {
		out = append(out, Curve(m.Inits[i], t.History))
	}
	return out
}

// Curve turns one history into a figures.Run named name (epochs from 1,
// accuracies in percent).
func Curve(name string, h *train.History) figures.Run {
	r := figures.Run{Name: name}
	for _, e := range h.Records {
		r.Epoch = append(r.Epoch, float64(e.Epoch+1))
		r.TrainLoss, r.TestLoss = append(r.TrainLoss, e.TrainLoss), append(r.TestLoss, e.TestLoss)
		r.TrainAcc, r.TestAcc = append(r.TrainAcc, 100*e.TrainAccuracy), append(r.TestAcc, 100*e.TestAccuracy)
	}
	return r
}

// Final returns the last epoch of every model as a table named "final
// epoch", one row per initializer, with the columns
//
//	init            initializer name
//	epochs          epochs trained
//	train_loss      mean training loss of the last epoch (nats)
//	train_accuracy  training accuracy of the last epoch, in [0, 1]
//	test_loss       test loss after the last epoch (nats)
//	test_accuracy   test accuracy after the last epoch, in [0, 1]
//	cached          whether the model was loaded from the cache
func (m *Models) Final() *analysis.Table {
	t := analysis.NewTable("final epoch", "init", "epochs", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "cached")
	for i, tr := range m.Trained {
		e := tr.History.Last()
		t.Rows = append(t.Rows, []any{m.Inits[i], len(tr.History.Records), e.TrainLoss, e.TrainAccuracy, e.TestLoss, e.TestAccuracy, tr.Cached})
	}
	return t
}

// Ranges returns the per-layer ranges every model recorded during training
// (train.Config.RecordRanges, see train.LayerRange) as a table named
// "ranges over training", one row per (initializer, epoch, layer), with the
// columns
//
//	init          initializer name
//	epoch         epoch, counted from 1
//	layer         layer name
//	kind          layer kind ("Conv2D", "ReLU", ...)
//	has_weight    whether the layer has a weight tensor
//	weight_range  max - min of its weight (NaN without one)
//	act_range     max - min of its output over the epoch's evaluation pass
//
// Pivot it to draw figures.RangeOverTraining, e.g.
// t.Where("init", name).Where("kind", "ReLU").Pivot("layer", "epoch", "act_range").
func (m *Models) Ranges() *analysis.Table {
	t := analysis.NewTable("ranges over training", "init", "epoch", "layer", "kind", "has_weight", "weight_range", "act_range")
	for i, tr := range m.Trained {
		for _, e := range tr.History.Records {
			for _, l := range e.Ranges {
				wr := math.NaN()
				if l.HasWeight {
					wr = float64(l.WeightMax - l.WeightMin)
				}
				t.Rows = append(t.Rows, []any{m.Inits[i], e.Epoch + 1, l.Layer, l.Kind, l.HasWeight, wr, float64(l.ActMax - l.ActMin)})
			}
		}
	}
	return t
}
