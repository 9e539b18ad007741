package train

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// CheckpointFile is the name of the checkpoint inside Config.CheckpointDir.
const CheckpointFile = "checkpoint.gob"

// checkpointVersion changes whenever the encoding changes meaning.
const checkpointVersion = 1

// Checkpoint is the state of a run between two batches: everything Resume
// needs to continue bit-identically. The data order, augmentation and
// dropout masks are pure functions of (Seed, epoch, batch), so the
// position (NextEpoch, NextBatch) is the whole loader and RNG state.
type Checkpoint struct {
	Version int
	// Model is the model's name; State holds every parameter value and
	// BatchNorm running statistic, keyed by parameter name.
	Model string
	State map[string][]float32
	// Optimizer is the resolved optimizer configuration; OptimizerState its
	// buffers keyed "<param>/m" and "<param>/v"; Steps its update count.
	Optimizer      OptimizerConfig
	OptimizerState map[string][]float32
	Steps          int64
	// Seed is Config.Seed.
	Seed uint64
	// NextEpoch and NextBatch locate the next training batch to run;
	// NextBatch == Batches means the epoch's training is done and only its
	// evaluation remains. Batches is the number of batches per epoch.
	NextEpoch, NextBatch, Batches int
	// Running holds the interrupted epoch's totals up to NextBatch.
	Running RunningTotals
	// History holds the completed epochs.
	History History
}

// RunningTotals are an epoch's training totals so far: the sum over
// samples of the loss, the number of correct predictions and of samples.
type RunningTotals struct {
	LossSum       float64
	Correct, Seen int
}

// LoadCheckpoint reads dir/checkpoint.gob.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	path := filepath.Join(dir, CheckpointFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var ck Checkpoint
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&ck); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if ck.Version != checkpointVersion {
		return nil, fmt.Errorf("train: checkpoint %s has version %d; this package reads %d", path, ck.Version, checkpointVersion)
	}
	return &ck, nil
}

// restore loads ck into model and opt after checking it belongs to this
// run.
func (ck *Checkpoint) restore(model *nn.Model, opt *Optimizer, cfg Config, batches int) error {
	switch {
	case ck.Model != model.Name():
		return fmt.Errorf("train: checkpoint is of model %q, not %q", ck.Model, model.Name())
	case ck.Seed != cfg.Seed:
		return fmt.Errorf("train: checkpoint was written with seed %d; Config.Seed is %d", ck.Seed, cfg.Seed)
	case fmt.Sprint(ck.Optimizer) != fmt.Sprint(opt.Config()):
		return fmt.Errorf("train: checkpoint optimizer %+v differs from Config.Optimizer %+v", ck.Optimizer, opt.Config())
	case ck.Batches != batches:
		return fmt.Errorf("train: checkpoint has %d batches per epoch; this Config and dataset give %d (different BatchSize, DropLast or data?)", ck.Batches, batches)
	case ck.NextEpoch > cfg.Epochs || ck.NextBatch < 0 || ck.NextBatch > batches:
		return fmt.Errorf("train: checkpoint position (epoch %d, batch %d) is outside a run of %d epochs of %d batches", ck.NextEpoch, ck.NextBatch, cfg.Epochs, batches)
	}
	if err := opt.loadState(ck.OptimizerState, ck.Steps); err != nil {
		return err
	}
	if err := model.LoadState(ck.State); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// saveCheckpoint writes the checkpoint pos (whose position fields are set)
// with the current model, optimizer and history, atomically: to a
// temporary file in dir, flushed and fsynced, then renamed over
// CheckpointFile, so a crash leaves either the old checkpoint or the new
// one, never a torn file.
func saveCheckpoint(dir string, model *nn.Model, opt *Optimizer, cfg Config, hist *History, pos Checkpoint) error {
	ck := pos
	ck.Version, ck.Model, ck.State = checkpointVersion, model.Name(), model.State()
	ck.Optimizer, ck.OptimizerState, ck.Steps = opt.Config(), opt.state(), opt.Steps()
	ck.Seed, ck.History = cfg.Seed, *hist
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	f, err := os.CreateTemp(dir, ".checkpoint-*.tmp")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("train: checkpoint %s: %w", dir, err)
	}
	w := bufio.NewWriter(f)
	if err := gob.NewEncoder(w).Encode(&ck); err != nil {
		return fail(err)
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: checkpoint %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, CheckpointFile)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: checkpoint %s: %w", dir, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename itself durable; best effort
		d.Close()
	}
	return nil
}
