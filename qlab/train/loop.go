package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Stage is the point of a training run at which a Hook runs.
type Stage int

const (
	// EpochStart runs before an epoch's first batch (also when the epoch
	// is resumed mid-way).
	EpochStart Stage = iota
	// BeforeForward runs once the batch is assembled, before the forward
	// pass. Loop.X may be modified in place (quantization-aware training
	// fake-quantizes it): the loader assembles every batch afresh.
	BeforeForward
	// BeforeBackward runs after the forward pass and the loss, before the
	// backward pass. Loop.Output, Loop.Loss and Loop.Correct are set.
	BeforeBackward
	// BeforeUpdate runs after the backward pass, before Optimizer.Step:
	// the place to change gradients (clipping, straight-through masks) or
	// the values the optimizer steps from.
	BeforeUpdate
	// AfterUpdate runs after Optimizer.Step; Loop.Totals include the batch.
	AfterUpdate
	// EpochEnd runs after an epoch's last batch (evaluation, records,
	// checkpoints).
	EpochEnd
	numStages
)

var stageNames = [...]string{"EpochStart", "BeforeForward", "BeforeBackward", "BeforeUpdate", "AfterUpdate", "EpochEnd"}

// String returns the stage's name, e.g. "BeforeUpdate".
func (s Stage) String() string {
	if s >= 0 && s < numStages {
		return stageNames[s]
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Hook extends a Loop: Fn runs at every Stage point, hooks of one stage in
// increasing Priority and, on ties, in the order they were added. An error
// from Fn stops the run; Loop.Run returns it wrapped with the position
// (epoch, step, batch) and the hook's name.
type Hook struct {
	// Name identifies the hook in errors.
	Name string
	// Stage is when it runs.
	Stage Stage
	// Priority orders hooks of one stage: lower runs first. Default 0.
	Priority int
	// Fn is the hook; it may read and change the Loop's exported state.
	Fn func(l *Loop) error
}

// Loop is the one training loop of qlab: Fit, quant.TrainQAT and the sweep
// trials all run it. For every batch of every epoch it assembles the batch
// from Loader, runs Model.Forward, the softmax cross-entropy loss,
// Model.Backward and Optimizer.Step, calling the hooks of each Stage in
// between. What differs between trainings (dropout seeds, quantizers,
// gradient masks, evaluation, checkpoints, progress) is a Hook, not a copy
// of the loop.
//
// The loop itself only checks that the loss is finite; it wraps
// ErrNotFinite, naming the first layer with a non-finite output. Model is
// in training mode during Run and is left in inference mode; Run skips
// the gradient with respect to the images, which training never uses (see
// nn.Model.SkipInputGradient).
//
// The exported fields after Hooks are the run's state, set by Run for the
// hooks to read; a Loop is not safe for concurrent use.
type Loop struct {
	// Model is the network trained. Required.
	Model *nn.Model
	// Optimizer updates the parameters after each backward pass.
	// Required; it need not cover every parameter of Model, and may cover
	// more (quant.TrainQAT adds learned scales).
	Optimizer *Optimizer
	// Loader cuts the training set into each epoch's batches. Required.
	Loader *data.Loader
	// Epochs is the number of epochs; the run ends before epoch index
	// Epochs. Default 1.
	Epochs int
	// LR gives the learning rate of batch index batch of epoch; nil means
	// the Optimizer's configured LR throughout.
	LR func(epoch, batch int) float64
	// StartEpoch, StartBatch and StartTotals resume a run: the first
	// epoch run, the batch index it starts at and the running totals of
	// its batches before that one. Default: the beginning.
	StartEpoch, StartBatch int
	StartTotals            RunningTotals

	hooks [numStages][]Hook
	bad   []Hook // hooks AddHook refused, reported by Run
	taps  []*Tap

	// Epoch is the current epoch index and Batch the index of the current
	// batch within it; Batches is the number of batches per epoch.
	Epoch, Batch, Batches int
	// Steps counts the optimizer steps taken in this Run.
	Steps int
	// StepLR is the learning rate of the current batch.
	StepLR float64
	// X and Labels are the current batch (in the Loader's buffers).
	X      *tensor.Tensor
	Labels []int
	// Output is the model output of the current batch (owned by Model);
	// Loss its mean loss and Correct the number of right predictions.
	Output  *tensor.Tensor
	Loss    float64
	Correct int
	// Totals are the running sums of the current epoch's batches so far.
	Totals RunningTotals

	loss nn.SoftmaxCrossEntropy
	// next* is the first unfinished work: where a resumed run would start.
	nextEpoch, nextBatch int
	nextTotals           RunningTotals
}

// AddHook adds h; see Hook for the order hooks run in. A hook with an
// unknown Stage or a nil Fn makes Run fail.
func (l *Loop) AddHook(h Hook) {
	if h.Stage < 0 || h.Stage >= numStages || h.Fn == nil {
		l.bad = append(l.bad, h)
		return
	}
	hs := append(l.hooks[h.Stage], h)
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Priority < hs[j].Priority })
	l.hooks[h.Stage] = hs
}

// On adds a hook at stage with priority 0; a shortcut for AddHook.
func (l *Loop) On(stage Stage, name string, fn func(l *Loop) error) {
	l.AddHook(Hook{Name: name, Stage: stage, Fn: fn})
}

// Tap attaches fn to Model for the run (see Attach): it sees every layer
// output of every training forward pass, and an error it returns stops
// the run after that pass.
func (l *Loop) Tap(fn LayerFunc) { l.taps = append(l.taps, &Tap{fn: fn}) }

// Next returns the first work the run has not finished: the epoch and the
// batch index to resume at, and the running totals of that epoch's
// earlier batches (batch == Batches: only the epoch's EpochEnd hooks
// remain). Fit checkpoints this position when it is stopped.
func (l *Loop) Next() (epoch, batch int, totals RunningTotals) {
	return l.nextEpoch, l.nextBatch, l.nextTotals
}

// Where describes the current batch for messages: "epoch 1, step 12
// (batch index 2 of 10)".
func (l *Loop) Where() string {
	return fmt.Sprintf("epoch %d, step %d (batch index %d of %d)", l.Epoch, l.Epoch*l.Batches+l.Batch, l.Batch, l.Batches)
}

func (l *Loop) run(s Stage) error {
	for _, h := range l.hooks[s] {
		if err := h.Fn(l); err != nil {
			if h.Name != "" {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			return err
		}
	}
	return nil
}

// Run trains until Epochs, or until ctx is cancelled (checked before each
// batch; the error wraps ctx.Err()) or a hook, the model or the loss
// fails. Errors name the position: "train: epoch 1, step 12 (batch index
// 2 of 10): ...", or "train: epoch 1: ..." for EpochStart and EpochEnd
// hooks.
func (l *Loop) Run(ctx context.Context) error {
	if l.Model == nil || l.Optimizer == nil || l.Loader == nil {
		return errors.New("train: Loop needs a Model, an Optimizer and a Loader")
	}
	for _, h := range l.bad {
		if h.Fn == nil {
			return fmt.Errorf("train: hook %q has no Fn", h.Name)
		}
		return fmt.Errorf("train: hook %q: unknown stage %v", h.Name, h.Stage)
	}
	epochs := l.Epochs
	if epochs == 0 {
		epochs = 1
	}
	l.Batches = l.Loader.Batches()
	if l.Batches == 0 {
		name, n := "", 0
		if l.Loader.Data != nil {
			name, n = l.Loader.Data.Name, l.Loader.Data.Len()
		}
		return fmt.Errorf("train: training set %q of %d samples gives no batch of %d", name, n, l.Loader.BatchSize)
	}
	for _, t := range l.taps {
		t.attach(l.Model)
		defer t.Close()
	}
	defer l.Model.SetTraining(false)
	// Training never uses the gradient with respect to the images; skipping
	// it saves the first conv's input-gradient GEMM (PyTorch likewise never
	// computes it for inputs that do not require grad).
	l.Model.SkipInputGradient(true)
	defer l.Model.SkipInputGradient(false)
	l.Steps = 0
	l.nextEpoch, l.nextBatch, l.nextTotals = l.StartEpoch, l.StartBatch, l.StartTotals
	startBatch, totals := l.StartBatch, l.StartTotals
	for l.Epoch = l.StartEpoch; l.Epoch < epochs; l.Epoch++ {
		l.Model.SetTraining(true)
		l.Totals = totals
		l.Batch = startBatch
		if err := l.run(EpochStart); err != nil {
			return fmt.Errorf("train: epoch %d: %w", l.Epoch, err)
		}
		it := l.Loader.EpochFrom(l.Epoch, startBatch)
		startBatch, totals = 0, RunningTotals{}
		for it.Next() {
			l.Batch = it.Index()
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("train: stopped at %s: %w", l.Where(), err)
			}
			if err := l.step(it); err != nil {
				return fmt.Errorf("train: %s: %w", l.Where(), err)
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		l.Batch = l.Batches
		if err := l.run(EpochEnd); err != nil {
			return fmt.Errorf("train: epoch %d: %w", l.Epoch, err)
		}
		l.nextEpoch, l.nextBatch, l.nextTotals = l.Epoch+1, 0, RunningTotals{}
	}
	return nil
}

// step runs one batch.
func (l *Loop) step(it *data.EpochIterator) error {
	l.StepLR = l.Optimizer.cfg.LR
	if l.LR != nil {
		l.StepLR = l.LR(l.Epoch, l.Batch)
	}
	l.X, l.Labels = it.Batch()
	if err := l.run(BeforeForward); err != nil {
		return err
	}
	l.Model.ZeroGrad()
	out, err := l.Model.Forward(l.X)
	if err == nil {
		err = l.tapErr()
	}
	if err != nil {
		return err
	}
	l.Output = out
	v, err := l.loss.Forward(out, l.Labels)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = fmt.Errorf("%w: loss is %v", nn.ErrNotFinite, v)
	}
	if err != nil {
		return diagnose(l.Model, err)
	}
	c, err := nn.Correct(out, l.Labels)
	if err != nil {
		return err
	}
	l.Loss, l.Correct = v, c
	if err := l.run(BeforeBackward); err != nil {
		return err
	}
	if _, err := l.Model.Backward(l.loss.Backward()); err != nil {
		return err
	}
	if err := l.run(BeforeUpdate); err != nil {
		return err
	}
	l.Optimizer.Step(l.StepLR)
	n := len(l.Labels)
	l.Totals.LossSum += v * float64(n)
	l.Totals.Correct += c
	l.Totals.Seen += n
	l.Steps++
	l.nextEpoch, l.nextBatch, l.nextTotals = l.Epoch, l.Batch+1, l.Totals
	return l.run(AfterUpdate)
}

func (l *Loop) tapErr() error {
	for _, t := range l.taps {
		if err := t.Err(); err != nil {
			return err
		}
	}
	return nil
}
