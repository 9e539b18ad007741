package analysis

import (
	"context"
	"fmt"
	"slices"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// WeightOptions configure WeightStats. The zero value summarises every
// Weight parameter (conv, depthwise, dense kernels) per tensor and per
// output channel.
type WeightOptions struct {
	// Kinds selects the parameter kinds; nil means only nn.Weight.
	Kinds []nn.ParamKind
	// NoChannels skips per-output-channel statistics.
	NoChannels bool
	// NoChannelPercentiles skips per-channel percentiles. By default they
	// are kept and exact: a parameter is summarised in one call, so each
	// channel's values are kept verbatim (memory: one copy of the
	// parameter while the LayerStats lives).
	NoChannelPercentiles bool
	// ExactBuffer is passed to each Accumulator (see Options).
	ExactBuffer int
}

// WeightStats summarises the model's parameters, one accumulator per
// parameter named by nn.Param.Name (e.g. "block1/conv/weight") with its
// kind ("weight", "bias", ...). Per-channel statistics are along axis 0,
// the output channel of every qlab weight layout.
func WeightStats(model *nn.Model, opts WeightOptions) (*LayerStats, error) {
	if model == nil {
		return nil, fmt.Errorf("analysis: weight stats: nil model")
	}
	kinds := opts.Kinds
	if kinds == nil {
		kinds = []nn.ParamKind{nn.Weight}
	}
	s := &LayerStats{Name: model.Name() + " weights"}
	params := append(model.Params(), model.Buffers()...)
	for _, p := range params {
		if !slices.Contains(kinds, p.Kind) {
			continue
		}
		v := p.Value
		o := Options{ExactBuffer: opts.ExactBuffer, PerChannel: !opts.NoChannels}
		if !opts.NoChannels && !opts.NoChannelPercentiles && len(v.Shape) > 0 && v.Shape[0] > 0 {
			o.ChannelPercentiles = true
			o.ChannelExactBuffer = max(1, len(v.Data)/v.Shape[0])
		}
		a, err := NewAccumulator(o)
		if err != nil {
			return nil, err
		}
		if opts.NoChannels || len(v.Shape) == 0 {
			err = a.Add(v.Data)
		} else {
			err = a.AddChannels(v.Data, 1, v.Shape[0])
		}
		if err != nil {
			return nil, fmt.Errorf("analysis: weight stats: parameter %q: %w", p.Name, err)
		}
		s.Add(p.Name, p.Kind.String(), a)
	}
	if len(s.Accs) == 0 {
		return nil, fmt.Errorf("analysis: weight stats: model %q has no parameters of kinds %v", model.Name(), kinds)
	}
	return s, nil
}

// Batches is a source of input batches; *data.EpochIterator satisfies it.
type Batches interface {
	Next() bool
	Batch() (images *tensor.Tensor, labels []int)
	Err() error
}

// SliceBatches returns Batches over the given tensors (labels nil).
func SliceBatches(xs ...*tensor.Tensor) Batches { return &sliceBatches{xs: xs, i: -1} }

type sliceBatches struct {
	xs []*tensor.Tensor
	i  int
}

func (s *sliceBatches) Next() bool                     { s.i++; return s.i < len(s.xs) }
func (s *sliceBatches) Batch() (*tensor.Tensor, []int) { return s.xs[s.i], nil }
func (s *sliceBatches) Err() error                     { return nil }

// ActivationOptions configure ActivationStats. The zero value observes
// every leaf layer, per tensor and per channel, over all batches.
type ActivationOptions struct {
	// Layers restricts collection to these layer names; nil means all.
	Layers []string
	// Kinds restricts collection to these layer kinds (e.g. "ReLU",
	// "Conv2D"); nil means all.
	Kinds []string
	// NoChannels skips per-channel statistics (axis 1 of each output).
	NoChannels bool
	// ChannelPercentiles also keeps per-channel percentiles (exact for the
	// first DefaultChannelExactBuffer values of a channel, then within
	// CoarseRelativeError; 16 KiB per channel). Off by default: the
	// extra pass over every output takes RefNet-S statistics from about
	// 1.45× to about 2.1× the CPU time of plain inference, past the 1.5×
	// goal (BenchmarkActivationStatsRefNetSChannelPercentiles).
	ChannelPercentiles bool
	// MaxBatches stops after this many batches; 0 means all.
	MaxBatches int
	// ExactBuffer is passed to each Accumulator (see Options).
	ExactBuffer int
}

// ActivationStats runs the model in inference mode over the batches and
// summarises every selected layer's output, streamed through
// a train.Tap on the model: nothing is copied and memory is bounded by the
// accumulators (per layer about 1 MiB of fine-histogram counts, half of it
// for the helper goroutine of large layers, 16 KiB of exact buffer, 32 KiB
// of histogram-key scratch and 112 bytes per channel), whatever the number
// of batches. The model's training mode is restored afterwards. ctx is
// checked between batches.
func ActivationStats(ctx context.Context, model *nn.Model, batches Batches, opts ActivationOptions) (*LayerStats, error) {
	if model == nil || batches == nil {
		return nil, fmt.Errorf("analysis: activation stats: nil model or batches")
	}
	s := &LayerStats{Name: model.Name() + " activations"}
	index := map[string]*Accumulator{}
	for _, l := range model.Layers() {
		if opts.Layers != nil && !slices.Contains(opts.Layers, l.Name()) {
			continue
		}
		if opts.Kinds != nil && !slices.Contains(opts.Kinds, l.Kind()) {
			continue
		}
		a, err := NewAccumulator(Options{ExactBuffer: opts.ExactBuffer, PerChannel: !opts.NoChannels,
			ChannelPercentiles: opts.ChannelPercentiles && !opts.NoChannels})
		if err != nil {
			return nil, err
		}
		index[l.Name()] = a
		s.Add(l.Name(), l.Kind(), a)
	}
	for _, name := range opts.Layers {
		if model.Layer(name) == nil {
			return nil, fmt.Errorf("analysis: activation stats: model %q has no layer %q", model.Name(), name)
		}
	}
	if len(s.Accs) == 0 {
		return nil, fmt.Errorf("analysis: activation stats: no layer of model %q matches layers %v kinds %v", model.Name(), opts.Layers, opts.Kinds)
	}
	tap := train.Attach(model, func(l nn.Layer, out *tensor.Tensor) error {
		if a := index[l.Name()]; a != nil {
			if err := a.AddTensor(out); err != nil {
				return fmt.Errorf("analysis: activation stats: layer %q: %w", l.Name(), err)
			}
		}
		return nil
	})
	defer tap.Close()
	training := model.Training()
	model.SetTraining(false)
	defer model.SetTraining(training)
	n := 0
	for batches.Next() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("analysis: activation stats: after %d batches: %w", n, err)
		}
		x, _ := batches.Batch()
		_, err := model.Forward(x)
		if terr := tap.Err(); terr != nil {
			return nil, fmt.Errorf("%w (batch %d)", terr, n)
		}
		if err != nil {
			return nil, fmt.Errorf("analysis: activation stats: batch %d: %w", n, err)
		}
		n++
		if opts.MaxBatches > 0 && n >= opts.MaxBatches {
			break
		}
	}
	if err := batches.Err(); err != nil {
		return nil, fmt.Errorf("analysis: activation stats: batches: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("analysis: activation stats: no batches")
	}
	return s, nil
}
