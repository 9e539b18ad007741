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

// Checkpoint is the state of a run at an epoch boundary: everything Resume
// needs to continue bit-identically. The data order, augmentation and
// dropout masks of later epochs are pure functions of (Seed, epoch, batch),
// so the loader position is NextEpoch itself.
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
	// Seed is Config.Seed; NextEpoch the first epoch still to run.
	Seed      uint64
	NextEpoch int
	History   History
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
func (ck *Checkpoint) restore(model *nn.Model, opt *Optimizer, cfg Config) error {
	switch {
	case ck.Model != model.Name():
		return fmt.Errorf("train: checkpoint is of model %q, not %q", ck.Model, model.Name())
	case ck.Seed != cfg.Seed:
		return fmt.Errorf("train: checkpoint was written with seed %d; Config.Seed is %d", ck.Seed, cfg.Seed)
	case fmt.Sprint(ck.Optimizer) != fmt.Sprint(opt.Config()):
		return fmt.Errorf("train: checkpoint optimizer %+v differs from Config.Optimizer %+v", ck.Optimizer, opt.Config())
	case ck.NextEpoch > cfg.Epochs:
		return fmt.Errorf("train: checkpoint is after epoch %d; Config.Epochs is %d", ck.NextEpoch, cfg.Epochs)
	}
	if err := opt.loadState(ck.OptimizerState, ck.Steps); err != nil {
		return err
	}
	if err := model.LoadState(ck.State); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// saveCheckpoint writes the checkpoint atomically: to a temporary file in
// dir, flushed and fsynced, then renamed over CheckpointFile, so a crash
// leaves either the old checkpoint or the new one, never a torn file.
func saveCheckpoint(dir string, model *nn.Model, opt *Optimizer, cfg Config, nextEpoch int, hist *History) error {
	ck := Checkpoint{
		Version: checkpointVersion, Model: model.Name(), State: model.State(),
		Optimizer: opt.Config(), OptimizerState: opt.state(), Steps: opt.Steps(),
		Seed: cfg.Seed, NextEpoch: nextEpoch, History: *hist,
	}
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
