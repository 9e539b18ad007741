package quant

import (
	"context"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// BNOptions configure ReestimateBN. The zero value runs every batch of the
// data, 64 samples at a time.
type BNOptions struct {
	// Batches is the number of batches to run; 0 (or more than the data
	// holds) means all of them.
	Batches int
	// BatchSize is the number of samples per forward pass; 0 means 64.
	// Batch statistics depend on it, as in PyTorch.
	BatchSize int
}

// ReestimateBN returns a copy of m, in inference mode, whose BatchNorm2D
// running statistics are re-estimated on d: the running means are reset
// to 0 and the running variances to 1, then the first Batches batches of d
// (in order) run forward with the batch-norm layers in training mode and
// the momentum of the k-th batch set to 1/k, so each running statistic is
// the plain average of the per-batch means and unbiased variances —
// PyTorch's torch.optim.swa_utils.update_bn (momentum=None) and AIMET's
// reestimate_bn_stats. No parameter changes. Only batch-norm layers run in
// training mode (dropout stays off, so the statistics are those inference
// will see). m is not modified.
//
// Use it when the running statistics are stale (a short or unstable
// training run leaves inference-mode accuracy far below training-mode
// accuracy): batch-norm folding bakes them into the quantized weights.
func ReestimateBN(ctx context.Context, m *nn.Model, d *data.Dataset, opt BNOptions) (*nn.Model, error) {
	if m == nil {
		return nil, fmt.Errorf("quant: re-estimate batch norm: nil model")
	}
	if opt.Batches < 0 || opt.BatchSize < 0 {
		return nil, fmt.Errorf("quant: re-estimate batch norm of %q: Batches %d, BatchSize %d; want >= 0", m.Name(), opt.Batches, opt.BatchSize)
	}
	c, err := m.Clone()
	if err != nil {
		return nil, fmt.Errorf("quant: re-estimate batch norm of %q: %w", m.Name(), err)
	}
	if err := reestimateBN(ctx, c, d, opt); err != nil {
		return nil, fmt.Errorf("quant: re-estimate batch norm of %q: %w", m.Name(), err)
	}
	return c, nil
}

// reestimateBN re-estimates c's statistics in place and leaves it in
// inference mode.
func reestimateBN(ctx context.Context, c *nn.Model, d *data.Dataset, opt BNOptions) error {
	var bns []*nn.BatchNorm2D
	for _, l := range c.Layers() {
		if bn, ok := l.(*nn.BatchNorm2D); ok {
			bns = append(bns, bn)
		}
	}
	c.Eval()
	if len(bns) == 0 {
		return nil
	}
	bs := opt.BatchSize
	if bs == 0 {
		bs = 64
	}
	n := 0
	if opt.Batches > 0 {
		n = opt.Batches * bs
	}
	if d != nil && n > d.Len() {
		n = 0
	}
	saved := make([]float32, len(bns))
	for i, bn := range bns {
		saved[i] = bn.Config().Momentum
		for k := range bn.RunningMean().Value.Data {
			bn.RunningMean().Value.Data[k] = 0
			bn.RunningVar().Value.Data[k] = 1
		}
		bn.SetTraining(true)
	}
	defer func() {
		for i, bn := range bns {
			bn.SetMomentum(saved[i]) // restored from a valid value
			bn.SetTraining(false)
		}
	}()
	k := 0
	if d == nil || d.Len() == 0 {
		return fmt.Errorf("%w: empty dataset", ErrNoData)
	}
	return train.EachBatch(ctx, d, train.BatchOptions{BatchSize: bs, Samples: n}, func(x *tensor.Tensor, _ []int) error {
		k++
		for _, bn := range bns {
			if err := bn.SetMomentum(float32(1 / float64(k))); err != nil {
				return err
			}
		}
		_, err := c.Forward(x)
		return err
	})
}
