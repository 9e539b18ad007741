package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// DefaultBatchSize is the batch size of EachBatch, Observe and Evaluate
// when none is given. It changes no result, only speed and memory.
const DefaultBatchSize = 256

// LayerFunc is called after a leaf layer's forward pass with the layer and
// its output, shape (N, ...). The output belongs to the layer: read it, or
// modify it in place (fake quantization does), but copy it to keep it past
// the call. An error stops the pass it was called in.
type LayerFunc func(l nn.Layer, out *tensor.Tensor) error

// Tap is a LayerFunc attached to a model: it runs after every leaf layer
// of every Forward (training and inference) until Close. It keeps the
// first error the function returns — later layers are then skipped — for
// Err, so callers check it after each Forward. Observe, Evaluate-style
// scans and Loop.Tap check it for you.
type Tap struct {
	fn     LayerFunc
	err    error
	remove func()
}

// Attach attaches fn to m's forward passes; see Tap.
func Attach(m *nn.Model, fn LayerFunc) *Tap {
	t := &Tap{fn: fn}
	t.attach(m)
	return t
}

func (t *Tap) attach(m *nn.Model) {
	t.remove = m.Observe(func(l nn.Layer, out *tensor.Tensor) {
		if t.err == nil {
			t.err = t.fn(l, out)
		}
	})
}

// Err returns the first error fn returned since the last call to Err, and
// clears it.
func (t *Tap) Err() error {
	err := t.err
	t.err = nil
	return err
}

// Close detaches the tap. It is safe to call more than once.
func (t *Tap) Close() {
	if t.remove != nil {
		t.remove()
		t.remove = nil
	}
}

// BatchOptions configure EachBatch. The zero value walks every sample in
// batches of DefaultBatchSize.
type BatchOptions struct {
	// BatchSize is the number of samples per batch (the last may be
	// smaller). Default DefaultBatchSize.
	BatchSize int
	// Samples limits the walk to the first Samples samples. Default 0:
	// all.
	Samples int
}

// EachBatch calls fn with consecutive batches of ds in stored order: the
// images, shape (B, ...), and their labels. It is the one batch walker of
// the evaluation and observation code (a data.Loader without shuffling):
// the tensor and slice are reused for the next batch, so fn must copy what
// it keeps, and may modify them in place. ctx is checked before every
// batch; an error from fn stops the walk and is returned naming the batch.
func EachBatch(ctx context.Context, ds *data.Dataset, opt BatchOptions, fn func(x *tensor.Tensor, labels []int) error) error {
	if ds == nil {
		return errors.New("train: no dataset")
	}
	if ds.Len() == 0 {
		return fmt.Errorf("train: dataset %q is empty", ds.Name)
	}
	if opt.Samples > 0 {
		ds = ds.Subset(opt.Samples)
	}
	bs := opt.BatchSize
	if bs <= 0 {
		bs = DefaultBatchSize
	}
	it := (&data.Loader{Data: ds, BatchSize: bs}).Epoch(0)
	for it.Next() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("train: dataset %q: %w", ds.Name, err)
		}
		x, y := it.Batch()
		if err := fn(x, y); err != nil {
			return fmt.Errorf("dataset %q, batch %d: %w", ds.Name, it.Index(), err)
		}
	}
	return it.Err()
}

// ObserveOptions configure Observe. The zero value runs every sample
// through the model in inference mode, DefaultBatchSize at a time.
type ObserveOptions struct {
	// BatchSize and Samples are as in BatchOptions.
	BatchSize, Samples int
	// Input, when set, is called with each batch's images before the
	// forward pass; it may modify them in place. Default none.
	Input func(x *tensor.Tensor) error
	// Forward, when set, runs each batch instead of the model's Forward:
	// a wrapper whose forward pass runs the observed model inside (a
	// quant.Model around its Net). Default: the model's Forward.
	Forward Forwarder
	// Training runs the model in its current mode. Default: inference
	// mode, the model's mode restored afterwards.
	Training bool
}

// Observe runs ds through model in batches and calls fn after every leaf
// layer of every batch, in forward order. It is the one way qlab scans a
// model's layers: calibration, per-layer statistics, ranges and error
// measurements are LayerFuncs over it. The first error fn returns stops
// the scan and is returned naming the batch; cancelling ctx stops it
// within one batch.
func Observe(ctx context.Context, model *nn.Model, ds *data.Dataset, opt ObserveOptions, fn LayerFunc) error {
	if model == nil {
		return errors.New("train: Observe: nil model")
	}
	if !opt.Training {
		was := model.Training()
		model.SetTraining(false)
		defer model.SetTraining(was)
	}
	var f Forwarder = model
	if opt.Forward != nil {
		f = opt.Forward
	}
	tap := Attach(model, fn)
	defer tap.Close()
	err := EachBatch(ctx, ds, BatchOptions{BatchSize: opt.BatchSize, Samples: opt.Samples}, func(x *tensor.Tensor, _ []int) error {
		if opt.Input != nil {
			if err := opt.Input(x); err != nil {
				return fmt.Errorf("input: %w", err)
			}
		}
		_, err := f.Forward(x)
		if terr := tap.Err(); terr != nil {
			return terr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("train: observing %q: %w", model.Name(), err)
	}
	return nil
}
