package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Forwarder is anything with a forward pass from images (N, ...) to logits
// (N, K): an *nn.Model, a fake-quantized *quant.Model, an integer model
// through quant.IntModel.Dequantized, or a ForwardFunc.
type Forwarder interface {
	Forward(x *tensor.Tensor) (*tensor.Tensor, error)
}

// ForwardFunc is a function used as a Forwarder.
type ForwardFunc func(x *tensor.Tensor) (*tensor.Tensor, error)

// Forward calls f.
func (f ForwardFunc) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return f(x) }

// Metrics are the result of Evaluate.
type Metrics struct {
	// Loss is the mean softmax cross-entropy per sample (nats).
	Loss float64
	// Accuracy is the fraction of samples whose largest logit is the label.
	Accuracy float64
	// N is the number of samples evaluated.
	N int
}

// Evaluate runs f over ds in batches of batchSize (0 means
// DefaultBatchSize; it changes no result) and returns the mean softmax
// cross-entropy and the accuracy. It is the one evaluation loop of qlab:
// float models, fake-quantized and integer models all go through it.
//
// An *nn.Model is checked against ds's sample shape and classes, then
// evaluated as an inference-mode clone (nn.Model.Clone): the model is left
// exactly as it was — mode, and layer buffers sized for its own batches,
// so evaluating in large batches does not grow what a kept model holds —
// and observers attached to it do not see the pass (use Observe for
// that). A non-finite loss names the first layer whose output went
// non-finite. Any other Forwarder with SetTraining runs in inference mode
// and gets its mode back afterwards. Cancelling ctx stops Evaluate within
// one batch.
func Evaluate(ctx context.Context, f Forwarder, ds *data.Dataset, batchSize int) (Metrics, error) {
	if f == nil {
		return Metrics{}, errors.New("train: Evaluate: nil model")
	}
	model, _ := f.(*nn.Model)
	if model != nil {
		if err := checkData(model, ds, "test"); err != nil {
			return Metrics{}, err
		}
		c, err := inferenceClone(model)
		if err != nil {
			return Metrics{}, err
		}
		return evaluate(ctx, c, c, ds, batchSize)
	} else if ds == nil {
		return Metrics{}, errors.New("train: no test dataset")
	}
	if m, ok := f.(interface {
		Training() bool
		SetTraining(bool)
	}); ok {
		was := m.Training()
		m.SetTraining(false)
		defer m.SetTraining(was)
	}
	return evaluate(ctx, f, model, ds, batchSize)
}

// inferenceClone returns a copy of m in inference mode, for passes whose
// buffers m should not keep: every layer keeps its output and scratch
// buffers at the largest batch it has seen, so a trained model evaluated
// in place at 256 images per batch would hold them (about 115 MB for a
// small depthwise-separable net on MNIST) for as long as it lives.
func inferenceClone(m *nn.Model) (*nn.Model, error) {
	c, err := m.Clone()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	c.SetTraining(false)
	return c, nil
}

// evaluate is Evaluate without the checks and the mode switch; model (may
// be nil) is f's network, for diagnosing non-finite losses.
func evaluate(ctx context.Context, f Forwarder, model *nn.Model, ds *data.Dataset, batchSize int) (Metrics, error) {
	var loss nn.SoftmaxCrossEntropy
	var sum float64
	correct, n := 0, 0
	err := EachBatch(ctx, ds, BatchOptions{BatchSize: batchSize}, func(x *tensor.Tensor, y []int) error {
		out, err := f.Forward(x)
		if err != nil {
			return err
		}
		v, err := loss.Forward(out, y)
		if err != nil {
			if model != nil {
				err = diagnose(model, err)
			}
			return err
		}
		c, err := nn.Correct(out, y)
		if err != nil {
			return err
		}
		sum += v * float64(len(y))
		correct += c
		n += len(y)
		return nil
	})
	if err != nil {
		return Metrics{}, fmt.Errorf("train: evaluating: %w", err)
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
