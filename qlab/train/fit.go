package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// ErrNotFinite is wrapped by Fit's error when a loss, a layer output, a
// parameter or a gradient becomes NaN or infinite.
var ErrNotFinite = errors.New("train: non-finite value")

// Config configures Fit. The zero value trains one epoch with batches of
// 64, shuffled with seed 0, SGD (lr 0.01, momentum 0.9, weight decay 5e-4)
// at a constant rate, no augmentation, no checkpoints, silently.
type Config struct {
	// Epochs is the number of passes over the training set. Default 1.
	Epochs int `json:"epochs,omitempty"`
	// BatchSize is the training batch size. Default 64.
	BatchSize int `json:"batch_size,omitempty"`
	// EvalBatchSize is the batch size of test-set evaluation; it changes
	// no result, only speed and memory. Default 256.
	EvalBatchSize int `json:"eval_batch_size,omitempty"`
	// Optimizer is the update rule; zero means SGDMomentum().
	Optimizer OptimizerConfig `json:"optimizer"`
	// Schedule scales Optimizer.LR over the run; zero means constant.
	Schedule Schedule `json:"schedule"`
	// Seed keys the data order, augmentation and dropout masks (the
	// weights are the model's: initialize them before Fit). Default 0.
	Seed uint64 `json:"seed,omitempty"`
	// NoShuffle keeps the training set in its stored order. Default:
	// shuffle every epoch.
	NoShuffle bool `json:"no_shuffle,omitempty"`
	// DropLast drops a final training batch smaller than BatchSize.
	DropLast bool `json:"drop_last,omitempty"`
	// Augment is the training-set augmentation. Default none.
	Augment data.Augmentation `json:"augment"`
	// Progress, when set, is called after every training batch. Default
	// nil: Fit prints nothing. See TextProgress and ProgressBar.
	Progress func(Progress) `json:"-"`
	// CheckpointDir, when set, is where Fit writes checkpoint.gob at the
	// end of every CheckpointEvery-th epoch and of the last epoch, and
	// when ctx is cancelled (at the batch it stopped before); Resume reads
	// it. Default "": no checkpoints.
	CheckpointDir string `json:"checkpoint_dir,omitempty"`
	// CheckpointEvery is the checkpoint interval in epochs. Default 1.
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
	// RecordRanges stores every leaf layer's weight and activation range
	// in each EpochRecord (see LayerRange for which pass). Default off.
	RecordRanges bool `json:"record_ranges,omitempty"`
	// TrainEvalSubset is the number of training images (the first ones)
	// evaluated in inference mode after every epoch, so History.Warnings
	// can flag batch-norm running statistics that no longer match the
	// network (inference-mode accuracy far below training-mode accuracy).
	// 0 means 512 (or the whole training set if smaller) for models with
	// batch norm and none otherwise; -1 turns it off.
	TrainEvalSubset int `json:"train_eval_subset,omitempty"`
}

func (c Config) resolved() (Config, error) {
	if c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.EvalBatchSize == 0 {
		c.EvalBatchSize = 256
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1
	}
	switch {
	case c.Epochs < 0:
		return c, fmt.Errorf("train: Config.Epochs %d; want >= 1", c.Epochs)
	case c.BatchSize < 0:
		return c, fmt.Errorf("train: Config.BatchSize %d; want >= 1", c.BatchSize)
	case c.EvalBatchSize < 0:
		return c, fmt.Errorf("train: Config.EvalBatchSize %d; want >= 1", c.EvalBatchSize)
	case c.CheckpointEvery < 0:
		return c, fmt.Errorf("train: Config.CheckpointEvery %d; want >= 1", c.CheckpointEvery)
	case c.Augment.CropPadding < 0:
		return c, fmt.Errorf("train: Config.Augment.CropPadding %d; want >= 0", c.Augment.CropPadding)
	}
	var err error
	if c.Optimizer, err = c.Optimizer.resolved(); err != nil {
		return c, err
	}
	if err := c.Schedule.validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Progress is what Fit reports after each training batch.
type Progress struct {
	// Epoch (0-based) of Epochs; Batch is the number of batches done in
	// this epoch (1..Batches).
	Epoch, Epochs  int
	Batch, Batches int
	// Loss and Accuracy are running means over this epoch's batches so far.
	Loss, Accuracy float64
	// ImagesPerSec is the training throughput since Fit started.
	ImagesPerSec float64
	// Elapsed is the time since Fit (or Resume) started; ETA estimates the
	// time to the end of the last epoch's training batches.
	Elapsed, ETA time.Duration
}

// Fit trains model on train for cfg.Epochs epochs, evaluating on test (may
// be nil) after each, and returns the history. The model's weights are used
// as they are: initialize them (arch specs do) before calling Fit. The
// model is left in inference mode.
//
// Errors: a non-finite loss, layer output, parameter or gradient stops
// training with an error wrapping ErrNotFinite that names the epoch, the
// step and the first layer (or parameter) concerned. Cancelling ctx stops
// training within one batch; the error wraps ctx.Err() and the history of
// the completed epochs is returned with it. With a CheckpointDir, a
// cancelled Fit first writes a checkpoint at the exact batch it stopped
// before, so Resume continues from there.
func Fit(ctx context.Context, model *nn.Model, train, test *data.Dataset, cfg Config) (*History, error) {
	return run(ctx, model, train, test, cfg, nil)
}

// Resume continues the run whose checkpoint is in cfg.CheckpointDir, with
// the same model architecture, data and Config (Epochs may be raised):
// it loads the weights, BatchNorm statistics, optimizer state, history and
// the position (epoch and batch, with the interrupted epoch's running loss
// and accuracy), then trains what remains. The final weights and every
// metric are bit-identical to those of an uninterrupted Fit; only the wall
// times differ (a resumed epoch's Seconds counts the resumed part). With
// RecordRanges and no test set, the ranges of an epoch resumed mid-way
// cover only its resumed batches.
func Resume(ctx context.Context, model *nn.Model, train, test *data.Dataset, cfg Config) (*History, error) {
	if cfg.CheckpointDir == "" {
		return nil, errors.New("train: Resume needs Config.CheckpointDir")
	}
	ck, err := LoadCheckpoint(cfg.CheckpointDir)
	if err != nil {
		return nil, err
	}
	return run(ctx, model, train, test, cfg, ck)
}

// fitRun is one Fit or Resume: the Loop and what its hooks share.
type fitRun struct {
	cfg        Config
	model      *nn.Model
	test       *data.Dataset
	loop       *Loop
	hist       *History
	rec        *rangeRecorder
	trainEval  *data.Dataset // Config.TrainEvalSubset's images, or nil
	eval       *nn.Model     // the evaluation clone
	epochStart time.Time
	batches    int
}

func run(ctx context.Context, model *nn.Model, train, test *data.Dataset, cfg Config, ck *Checkpoint) (*History, error) {
	r, err := newFitRun(model, train, test, cfg)
	if err != nil {
		return nil, err
	}
	if ck != nil {
		if err := ck.restore(model, r.loop.Optimizer, r.cfg, r.batches); err != nil {
			return nil, err
		}
		r.hist.Records = append(r.hist.Records, ck.History.Records...)
		r.loop.StartEpoch, r.loop.StartBatch, r.loop.StartTotals = ck.NextEpoch, ck.NextBatch, ck.Running
	}
	addDropoutSeeds(r.loop, r.cfg.Seed)
	r.loop.On(BeforeUpdate, "", checkParams)
	if r.cfg.Progress != nil {
		addProgress(r.loop, r.cfg.Progress)
	}
	defer r.rec.close()
	r.loop.On(EpochStart, "", r.epochStarts)
	r.loop.On(EpochEnd, "", func(l *Loop) error { return r.epochEnds(ctx, l) })
	err = r.loop.Run(ctx)
	if err != nil && ctx.Err() != nil && r.cfg.CheckpointDir != "" {
		// Stopped: checkpoint the exact position (the next batch, or only
		// the epoch's evaluation) so Resume loses no work.
		if serr := r.save(r.loop.Next()); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return r.hist, err
}

// newFitRun checks the arguments and builds the loop.
func newFitRun(model *nn.Model, train, test *data.Dataset, cfg Config) (*fitRun, error) {
	if model == nil {
		return nil, errors.New("train: nil model")
	}
	cfg, err := cfg.resolved()
	if err != nil {
		return nil, err
	}
	if err := checkData(model, train, "training"); err != nil {
		return nil, err
	}
	if test != nil {
		if err := checkData(model, test, "test"); err != nil {
			return nil, err
		}
	}
	opt, err := NewOptimizer(cfg.Optimizer, model.Params())
	if err != nil {
		return nil, err
	}
	loader := &data.Loader{Data: train, BatchSize: cfg.BatchSize, Shuffle: !cfg.NoShuffle, Seed: cfg.Seed,
		Augment: cfg.Augment, DropLast: cfg.DropLast}
	r := &fitRun{cfg: cfg, model: model, test: test, batches: loader.Batches(),
		hist: &History{Model: model.Name()}, rec: newRangeRecorder(model, cfg.RecordRanges),
		trainEval: trainEvalSet(model, train, cfg.TrainEvalSubset)}
	if r.batches == 0 {
		return nil, fmt.Errorf("train: training set %q of %d samples gives no batch of %d", train.Name, train.Len(), cfg.BatchSize)
	}
	r.loop = &Loop{Model: model, Optimizer: opt, Loader: loader, Epochs: cfg.Epochs, LR: r.lr}
	return r, nil
}

// lr is the scheduled learning rate of a batch.
func (r *fitRun) lr(epoch, batch int) float64 {
	if !r.cfg.Schedule.PerStep {
		batch = 0
	}
	return r.cfg.Schedule.LR(r.cfg.Optimizer.LR, epoch, batch, r.batches, r.cfg.Epochs)
}

// save writes a checkpoint positioned before batch `batch` of `epoch`
// with the epoch's running totals so far.
func (r *fitRun) save(epoch, batch int, tot RunningTotals) error {
	return saveCheckpoint(r.cfg.CheckpointDir, r.model, r.loop.Optimizer, r.cfg, r.hist, Checkpoint{
		NextEpoch: epoch, NextBatch: batch, Batches: r.batches, Running: tot})
}

// checkParams stops training at the first non-finite parameter or
// gradient.
func checkParams(l *Loop) error {
	if err := l.Model.CheckParams(); err != nil {
		return fmt.Errorf("%w: %v", ErrNotFinite, err)
	}
	return nil
}

func (r *fitRun) epochStarts(*Loop) error {
	r.epochStart = time.Now()
	if r.test == nil {
		r.rec.begin(r.model)
	}
	return nil
}

// epochEnds evaluates on the test set, records the epoch and writes the
// checkpoint when one is due.
func (r *fitRun) epochEnds(ctx context.Context, l *Loop) error {
	tot := l.Totals
	rec := EpochRecord{Epoch: l.Epoch, TrainLoss: tot.LossSum / float64(tot.Seen), TrainAccuracy: float64(tot.Correct) / float64(tot.Seen),
		LR: r.lr(l.Epoch, 0)}
	// Evaluation runs on a clone, made once per run and refreshed from the
	// model every epoch, so the model keeps no buffers sized for
	// evaluation batches (see inferenceClone).
	ev := r.eval
	if r.test != nil || r.trainEval != nil {
		var err error
		if ev == nil {
			ev, err = inferenceClone(r.model)
			r.eval = ev
		} else {
			err = ev.CopyFrom(r.model)
		}
		if err != nil {
			return err
		}
	}
	if r.test != nil {
		r.rec.begin(ev)
		m, err := evaluate(ctx, ev, ev, r.test, r.cfg.EvalBatchSize)
		if err != nil {
			return err
		}
		rec.TestLoss, rec.TestAccuracy, rec.HasTest = m.Loss, m.Accuracy, true
	}
	rec.Ranges = r.rec.end()
	if r.trainEval != nil {
		m, err := evaluate(ctx, ev, ev, r.trainEval, r.cfg.EvalBatchSize)
		if err != nil {
			return err
		}
		rec.TrainEvalAccuracy, rec.TrainEvalN = m.Accuracy, m.N
	}
	rec.Seconds = time.Since(r.epochStart).Seconds()
	r.hist.Records = append(r.hist.Records, rec)
	if r.cfg.CheckpointDir != "" && ((l.Epoch+1)%r.cfg.CheckpointEvery == 0 || l.Epoch == r.cfg.Epochs-1) {
		return r.save(l.Epoch+1, 0, RunningTotals{})
	}
	return nil
}

// addDropoutSeeds reseeds every dropout layer of l.Model before each
// batch from (seed, layer, epoch, batch), so a resumed run draws the masks
// an uninterrupted one would.
func addDropoutSeeds(l *Loop, seed uint64) {
	type dropout struct {
		l    *nn.Dropout
		seed uint64
	}
	var ds []dropout
	for _, layer := range l.Model.Layers() {
		if d, ok := layer.(*nn.Dropout); ok {
			ds = append(ds, dropout{d, initializers.SeedFor(seed, layer.Name())})
		}
	}
	if len(ds) == 0 {
		return
	}
	l.On(BeforeForward, "dropout seeds", func(l *Loop) error {
		for _, d := range ds {
			d.l.Reseed(batchSeed(d.seed, l.Epoch, l.Batch))
		}
		return nil
	})
}

// addProgress reports Progress to fn after every batch.
func addProgress(l *Loop, fn func(Progress)) {
	var began time.Time
	images, total := 0, 0
	l.AddHook(Hook{Name: "progress", Stage: AfterUpdate, Priority: 100, Fn: func(l *Loop) error {
		if l.Steps == 1 {
			epochs := max(l.Epochs, 1)
			total = (epochs-l.StartEpoch)*l.Batches - l.StartBatch
		}
		images += len(l.Labels)
		el := time.Since(began)
		eta := time.Duration(float64(el) / float64(l.Steps) * float64(total-l.Steps))
		seen := float64(l.Totals.Seen)
		fn(Progress{Epoch: l.Epoch, Epochs: max(l.Epochs, 1), Batch: l.Batch + 1, Batches: l.Batches,
			Loss: l.Totals.LossSum / seen, Accuracy: float64(l.Totals.Correct) / seen,
			ImagesPerSec: float64(images) / el.Seconds(), Elapsed: el, ETA: eta})
		return nil
	}})
	l.AddHook(Hook{Name: "progress", Stage: EpochStart, Priority: -100, Fn: func(l *Loop) error {
		if began.IsZero() {
			began = time.Now()
		}
		return nil
	}})
}

// batchSeed derives the dropout seed of one batch so that a resumed run
// draws the masks an uninterrupted one would.
func batchSeed(layerSeed uint64, epoch, batch int) uint64 {
	x := layerSeed ^ uint64(epoch)<<32 ^ uint64(uint32(batch))
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rangeRecorder tracks weight and activation ranges per leaf layer: the
// activations through a LayerRanges tapped on the model (or an evaluation
// clone) while it is begun.
type rangeRecorder struct {
	model  *nn.Model
	on     bool
	ranges LayerRanges
	tap    *Tap
}

func newRangeRecorder(m *nn.Model, on bool) *rangeRecorder {
	return &rangeRecorder{model: m, on: on}
}

// begin starts observing the layer outputs of m (the model, or a clone of
// it), forgetting earlier ones.
func (r *rangeRecorder) begin(m *nn.Model) {
	if !r.on {
		return
	}
	r.close()
	r.ranges.Reset()
	r.tap = Attach(m, r.ranges.Observe)
}

// close stops observing.
func (r *rangeRecorder) close() {
	if r.tap != nil {
		r.tap.Close()
		r.tap = nil
	}
}

// end stops observing and returns the ranges (nil when off).
func (r *rangeRecorder) end() []LayerRange {
	if !r.on {
		return nil
	}
	r.close()
	layers := r.model.Layers()
	out := make([]LayerRange, len(layers))
	for i, l := range layers {
		lr := LayerRange{Layer: l.Name(), Kind: l.Kind()}
		lr.ActMin, lr.ActMax, _ = r.ranges.Range(l.Name())
		for _, p := range l.Params() {
			if p.Kind == nn.Weight && len(p.Value.Data) > 0 {
				lr.HasWeight = true
				lr.WeightMin, lr.WeightMax = minMax(p.Value.Data)
			}
		}
		out[i] = lr
	}
	return out
}

// trainEvalSet returns the training subset Fit evaluates in inference mode
// after every epoch (Config.TrainEvalSubset), or nil.
func trainEvalSet(model *nn.Model, train *data.Dataset, n int) *data.Dataset {
	if n < 0 {
		return nil
	}
	if n == 0 {
		bn := false
		for _, l := range model.Layers() {
			if _, ok := l.(*nn.BatchNorm2D); ok {
				bn = true
			}
		}
		if !bn {
			return nil
		}
		n = 512
	}
	return train.Subset(min(n, train.Len()))
}
