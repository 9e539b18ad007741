package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
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

// Metrics are the result of Evaluate.
type Metrics struct {
	// Loss is the mean softmax cross-entropy per sample (nats).
	Loss float64
	// Accuracy is the fraction of samples whose largest logit is the label.
	Accuracy float64
	// N is the number of samples evaluated.
	N int
}

// Evaluate runs model in inference mode over ds in batches of batchSize
// (0 means 256) and returns the mean loss and accuracy. The model's mode is
// restored afterwards. Cancelling ctx stops it within one batch.
func Evaluate(ctx context.Context, model *nn.Model, ds *data.Dataset, batchSize int) (Metrics, error) {
	if model == nil {
		return Metrics{}, errors.New("train: Evaluate: nil model")
	}
	if err := checkData(model, ds, "test"); err != nil {
		return Metrics{}, err
	}
	if batchSize <= 0 {
		batchSize = 256
	}
	was := model.Training()
	model.SetTraining(false)
	defer model.SetTraining(was)
	var loss nn.SoftmaxCrossEntropy
	return evaluate(ctx, model, &data.Loader{Data: ds, BatchSize: batchSize}, &loss)
}

func evaluate(ctx context.Context, model *nn.Model, l *data.Loader, loss *nn.SoftmaxCrossEntropy) (Metrics, error) {
	var sum float64
	correct, n := 0, 0
	it := l.Epoch(0)
	for it.Next() {
		if err := ctx.Err(); err != nil {
			return Metrics{}, fmt.Errorf("train: evaluating %q: %w", l.Data.Name, err)
		}
		x, y := it.Batch()
		out, err := model.Forward(x)
		if err != nil {
			return Metrics{}, fmt.Errorf("train: evaluating %q, batch %d: %w", l.Data.Name, it.Index(), err)
		}
		v, err := loss.Forward(out, y)
		if err != nil {
			return Metrics{}, fmt.Errorf("train: evaluating %q, batch %d: %w", l.Data.Name, it.Index(), diagnose(model, err))
		}
		c, err := nn.Correct(out, y)
		if err != nil {
			return Metrics{}, fmt.Errorf("train: evaluating %q: %w", l.Data.Name, err)
		}
		sum += v * float64(len(y))
		correct += c
		n += len(y)
	}
	if err := it.Err(); err != nil {
		return Metrics{}, err
	}
	if n == 0 {
		return Metrics{}, fmt.Errorf("train: dataset %q is empty", l.Data.Name)
	}
	return Metrics{Loss: sum / float64(n), Accuracy: float64(correct) / float64(n), N: n}, nil
}

// diagnose turns a loss error caused by non-finite logits into one naming
// the first layer whose output went non-finite.
func diagnose(model *nn.Model, err error) error {
	if !errors.Is(err, nn.ErrNotFinite) {
		return err
	}
	if lerr := model.CheckFinite(); lerr != nil {
		return fmt.Errorf("%w: first non-finite output: %v", ErrNotFinite, lerr)
	}
	if perr := model.CheckParams(); perr != nil {
		return fmt.Errorf("%w: %v", ErrNotFinite, perr)
	}
	return fmt.Errorf("%w: %v", ErrNotFinite, err)
}

func checkData(model *nn.Model, ds *data.Dataset, role string) error {
	if ds == nil {
		return fmt.Errorf("train: no %s dataset", role)
	}
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("train: %s dataset: %w", role, err)
	}
	if !tensor.SameShape(ds.Shape(), model.InputShape()) {
		return fmt.Errorf("train: %s dataset %q has samples of shape %v; model %q takes %v", role, ds.Name, ds.Shape(), model.Name(), model.InputShape())
	}
	if out := model.OutputShape(); len(out) != 1 || out[0] < ds.NumClasses() {
		return fmt.Errorf("train: model %q outputs %v; %s dataset %q has %d classes", model.Name(), out, role, ds.Name, ds.NumClasses())
	}
	return nil
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

type dropoutLayer struct {
	l    *nn.Dropout
	seed uint64
}

func run(ctx context.Context, model *nn.Model, train, test *data.Dataset, cfg Config, ck *Checkpoint) (*History, error) {
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
	batches := loader.Batches()
	if batches == 0 {
		return nil, fmt.Errorf("train: training set %q of %d samples gives no batch of %d", train.Name, train.Len(), cfg.BatchSize)
	}
	hist := &History{Model: model.Name()}
	start, startBatch := 0, 0
	var running RunningTotals
	if ck != nil {
		if err := ck.restore(model, opt, cfg, batches); err != nil {
			return nil, err
		}
		hist.Records = append(hist.Records, ck.History.Records...)
		start, startBatch, running = ck.NextEpoch, ck.NextBatch, ck.Running
	}
	// save writes a checkpoint positioned before batch `batch` of `epoch`
	// with the epoch's running totals so far.
	save := func(epoch, batch int, tot RunningTotals) error {
		return saveCheckpoint(cfg.CheckpointDir, model, opt, cfg, hist, Checkpoint{
			NextEpoch: epoch, NextBatch: batch, Batches: batches, Running: tot})
	}
	// stopped wraps a cancellation error, first saving a checkpoint at the
	// exact position so Resume loses no work.
	stopped := func(err error, epoch, batch int, tot RunningTotals) error {
		if cfg.CheckpointDir != "" {
			if serr := save(epoch, batch, tot); serr != nil {
				return errors.Join(err, serr)
			}
		}
		return err
	}
	var evalLoader *data.Loader
	if test != nil {
		evalLoader = &data.Loader{Data: test, BatchSize: cfg.EvalBatchSize}
	}
	var dropouts []dropoutLayer
	for _, l := range model.Layers() {
		if d, ok := l.(*nn.Dropout); ok {
			dropouts = append(dropouts, dropoutLayer{d, initializers.SeedFor(cfg.Seed, l.Name())})
		}
	}
	rec := newRangeRecorder(model, cfg.RecordRanges)
	var loss nn.SoftmaxCrossEntropy
	began := time.Now()
	images, stepsDone := 0, 0
	totalSteps := (cfg.Epochs-start)*batches - startBatch
	defer model.SetTraining(false)
	// Training never uses the gradient with respect to the images; skipping
	// it saves the first conv's input-gradient GEMM (PyTorch likewise never
	// computes it for inputs that do not require grad).
	model.SkipInputGradient(true)
	defer model.SkipInputGradient(false)

	for epoch := start; epoch < cfg.Epochs; epoch++ {
		epochStart := time.Now()
		model.SetTraining(true)
		if test == nil {
			rec.begin()
		}
		lossSum, correct, seen := running.LossSum, running.Correct, running.Seen
		epochLR := cfg.Schedule.LR(cfg.Optimizer.LR, epoch, 0, batches, cfg.Epochs)
		lr := epochLR
		it := loader.EpochFrom(epoch, startBatch)
		startBatch, running = 0, RunningTotals{}
		for it.Next() {
			b := it.Index()
			where := func() string {
				return fmt.Sprintf("epoch %d, step %d (batch index %d of %d)", epoch, epoch*batches+b, b, batches)
			}
			if err := ctx.Err(); err != nil {
				rec.end()
				return hist, stopped(fmt.Errorf("train: stopped at %s: %w", where(), err), epoch, b, RunningTotals{lossSum, correct, seen})
			}
			if cfg.Schedule.PerStep {
				lr = cfg.Schedule.LR(cfg.Optimizer.LR, epoch, b, batches, cfg.Epochs)
			}
			for _, d := range dropouts {
				d.l.Reseed(batchSeed(d.seed, epoch, b))
			}
			x, y := it.Batch()
			model.ZeroGrad()
			out, err := model.Forward(x)
			if err != nil {
				rec.end()
				return hist, fmt.Errorf("train: %s: %w", where(), err)
			}
			v, err := loss.Forward(out, y)
			if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
				err = fmt.Errorf("%w: loss is %v", nn.ErrNotFinite, v)
			}
			if err != nil {
				rec.end()
				return hist, fmt.Errorf("train: %s: %w", where(), diagnose(model, err))
			}
			c, err := nn.Correct(out, y)
			if err != nil {
				rec.end()
				return hist, fmt.Errorf("train: %s: %w", where(), err)
			}
			if _, err := model.Backward(loss.Backward()); err != nil {
				rec.end()
				return hist, fmt.Errorf("train: %s: %w", where(), err)
			}
			if err := model.CheckParams(); err != nil {
				rec.end()
				return hist, fmt.Errorf("train: %s: %w: %v", where(), ErrNotFinite, err)
			}
			opt.Step(lr)
			lossSum += v * float64(len(y))
			correct += c
			seen += len(y)
			images += len(y)
			stepsDone++
			if cfg.Progress != nil {
				el := time.Since(began)
				eta := time.Duration(float64(el) / float64(stepsDone) * float64(totalSteps-stepsDone))
				cfg.Progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Batch: b + 1, Batches: batches,
					Loss: lossSum / float64(seen), Accuracy: float64(correct) / float64(seen),
					ImagesPerSec: float64(images) / el.Seconds(), Elapsed: el, ETA: eta})
			}
		}
		if err := it.Err(); err != nil {
			rec.end()
			return hist, err
		}
		r := EpochRecord{Epoch: epoch, TrainLoss: lossSum / float64(seen), TrainAccuracy: float64(correct) / float64(seen), LR: epochLR}
		if test != nil {
			model.SetTraining(false)
			rec.begin()
			m, err := evaluate(ctx, model, evalLoader, &loss)
			if err != nil {
				rec.end()
				err = fmt.Errorf("train: epoch %d: %w", epoch, err)
				if ctx.Err() != nil {
					// Training of this epoch is complete; Resume re-runs
					// only its evaluation.
					err = stopped(err, epoch, batches, RunningTotals{lossSum, correct, seen})
				}
				return hist, err
			}
			r.TestLoss, r.TestAccuracy, r.HasTest = m.Loss, m.Accuracy, true
		}
		r.Ranges = rec.end()
		r.Seconds = time.Since(epochStart).Seconds()
		hist.Records = append(hist.Records, r)
		if cfg.CheckpointDir != "" && ((epoch+1)%cfg.CheckpointEvery == 0 || epoch == cfg.Epochs-1) {
			if err := save(epoch+1, 0, RunningTotals{}); err != nil {
				return hist, err
			}
		}
	}
	return hist, nil
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

// rangeRecorder tracks weight and activation ranges per leaf layer.
type rangeRecorder struct {
	model  *nn.Model
	on     bool
	layers []nn.Layer
	index  map[nn.Layer]int
	lo, hi []float32
	seen   []bool
	remove func()
}

func newRangeRecorder(m *nn.Model, on bool) *rangeRecorder {
	r := &rangeRecorder{model: m, on: on}
	if !on {
		return r
	}
	r.layers = m.Layers()
	r.index = map[nn.Layer]int{}
	for i, l := range r.layers {
		r.index[l] = i
	}
	r.lo = make([]float32, len(r.layers))
	r.hi = make([]float32, len(r.layers))
	r.seen = make([]bool, len(r.layers))
	return r
}

// begin starts observing layer outputs, forgetting earlier ones.
func (r *rangeRecorder) begin() {
	if !r.on {
		return
	}
	if r.remove != nil {
		r.remove()
	}
	clear(r.seen)
	r.remove = r.model.Observe(func(l nn.Layer, out *tensor.Tensor) {
		i, ok := r.index[l]
		if !ok || len(out.Data) == 0 {
			return
		}
		lo, hi := out.Data[0], out.Data[0]
		for _, v := range out.Data {
			lo, hi = min(lo, v), max(hi, v)
		}
		if !r.seen[i] {
			r.lo[i], r.hi[i], r.seen[i] = lo, hi, true
			return
		}
		r.lo[i], r.hi[i] = min(r.lo[i], lo), max(r.hi[i], hi)
	})
}

// end stops observing and returns the ranges (nil when off).
func (r *rangeRecorder) end() []LayerRange {
	if !r.on {
		return nil
	}
	if r.remove != nil {
		r.remove()
		r.remove = nil
	}
	out := make([]LayerRange, len(r.layers))
	for i, l := range r.layers {
		lr := LayerRange{Layer: l.Name(), Kind: l.Kind(), ActMin: r.lo[i], ActMax: r.hi[i]}
		for _, p := range l.Params() {
			if p.Kind == nn.Weight && len(p.Value.Data) > 0 {
				lr.HasWeight = true
				lr.WeightMin, lr.WeightMax = p.Value.Data[0], p.Value.Data[0]
				for _, v := range p.Value.Data {
					lr.WeightMin, lr.WeightMax = min(lr.WeightMin, v), max(lr.WeightMax, v)
				}
			}
		}
		out[i] = lr
	}
	return out
}
