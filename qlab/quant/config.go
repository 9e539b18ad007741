package quant

import (
	"errors"
	"fmt"
)

// ErrConfig is returned (wrapped) by Validate for impossible combinations.
var ErrConfig = errors.New("quant: invalid config")

// Method selects how a calibrator turns observed values into a range.
type Method int

const (
	// MinMax uses the running minimum and maximum (PyTorch MinMaxObserver).
	MinMax Method = iota
	// MovingAverageMinMax averages each batch's min and max with an
	// exponential moving average (PyTorch MovingAverageMinMaxObserver).
	MovingAverageMinMax
	// Percentile clips at a percentile of the observed distribution,
	// read from a histogram.
	Percentile
	// MSE picks the clipping range minimising the expected squared
	// quantization error over a histogram.
	MSE
	// Entropy picks the threshold minimising the KL divergence between the
	// clipped and the quantized distributions, as TensorRT defines it, with
	// two departures for one-sided data: exact zeros are left out (0.0 is
	// exact under every scheme) and the number of levels is the one the
	// scheme really has over [0, t] (255 for affine uint8 when min >= 0,
	// TensorRT's 128 for two-sided int8). See HistogramCalibrator.
	Entropy
	// TorchHistogram is PyTorch's HistogramObserver: a histogram plus the
	// L2-norm search ported from caffe2's NormMinimization.
	TorchHistogram
)

var methodNames = [...]string{"minmax", "moving-average-minmax", "percentile", "mse", "entropy", "torch-histogram"}

// String returns the method's short name.
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Calibration configures the calibrator of one tensor kind. The zero value
// is min/max calibration.
type Calibration struct {
	// Method is the calibration algorithm; zero is MinMax.
	Method Method
	// Percentile (in percent, e.g. 99.99) for the Percentile method: the
	// range is [P(100-p), P(p)] of the observed values. Zero means 99.99.
	Percentile float64
	// Bins is the histogram size for Percentile, MSE, Entropy and
	// TorchHistogram. Zero means 2048 (TensorRT's and PyTorch's default).
	Bins int
	// AveragingConstant for MovingAverageMinMax. Zero means 0.01
	// (PyTorch's default).
	AveragingConstant float32
}

// TensorConfig describes how one kind of tensor (weights, activations or
// biases) is quantized. The zero value is PyTorch's default quint8 scheme:
// 8-bit unsigned affine per-tensor storage [0, 255], min/max calibration.
type TensorConfig struct {
	// Float leaves this kind of tensor in float32 (no quantization).
	Float bool
	// Bits is the storage width, 2 to 16. Zero means 8.
	Bits int
	// Symmetric makes the range symmetric about 0: scale = max|x| /
	// ((qmax-qmin)/2) and zero point 0 (signed) or 2^(Bits-1) (unsigned).
	// Otherwise the scheme is affine: scale = (max-min)/(qmax-qmin) with a
	// zero point that makes 0.0 exact.
	Symmetric bool
	// Signed stores two's complement integers [-2^(Bits-1), 2^(Bits-1)-1];
	// otherwise unsigned [0, 2^Bits-1].
	Signed bool
	// RestrictedRange drops the most negative code ([-127, 127] for int8,
	// TFLite's weights; [1, 255] for uint8, TensorFlow's narrow_range).
	// Only for symmetric schemes, or with Nudged.
	RestrictedRange bool
	// ReduceRange uses one bit less than Bits (PyTorch FBGEMM's reduce_range
	// for activations, avoiding VPMADDUBSW's int16 saturation): uint8 becomes
	// [0, 127], int8 [-64, 63].
	ReduceRange bool
	// PerChannel computes one scale and zero point per slice along Axis.
	PerChannel bool
	// Axis is the channel axis for PerChannel (0, the output channel of
	// conv and dense weights, is the zero value).
	Axis int
	// PowerOfTwoScale rounds each scale up to a power of two, so the
	// quantized range still covers the calibrated one.
	PowerOfTwoScale bool
	// Nudged uses TensorFlow's fake_quant_with_min_max_vars semantics: the
	// zero point is the nudged round(qmin - min/scale) and values round
	// half up, floor(v + 0.5). Affine only.
	Nudged bool
	// Int32Bias is for biases only: int32 storage, zero point 0 and scale =
	// input scale x weight scale (per output channel when the weights are
	// per channel), as TFLite and gemmlowp require for the accumulator.
	// The other fields are ignored when it is set.
	Int32Bias bool
	// Calibrator selects how the range is found (activations; weights use
	// it too, though MinMax is the norm for them).
	Calibrator Calibration
}

// Config is the quantization scheme of a whole model. The zero value
// quantizes weights, activations and biases with the zero TensorConfig and
// folds batch norm; start from a preset (QUInt8, TFLiteInt8, FBGEMM) for a
// published scheme.
type Config struct {
	Weights     TensorConfig
	Activations TensorConfig
	Biases      TensorConfig
	// NoFoldBN keeps batch-norm layers instead of folding them into the
	// preceding convolution before quantization.
	NoFoldBN bool
	// Layers are per-layer exceptions (PyTorch's QConfigMapping, AIMET's
	// per-module settings): for each layer the last rule that matches it
	// decides its scheme, or keeps it in float; layers no rule matches use
	// the fields above. See LayerRule and Config.Assign. Every API that
	// takes a Config honours them (Quantize, Evaluate, LayerErrors, the PTQ
	// methods, the integer path as far as its arithmetic allows; see
	// Model.Integer).
	Layers []LayerRule `json:",omitempty" yaml:"layers,omitempty"`
}

// QUInt8 is the TensorFlow quint8 simulated quantization the Yun & Wong
// papers use (tf.quantization.fake_quant_with_min_max_vars, 8 bits,
// narrow_range false): uint8 affine, per-tensor weights and activations,
// min/max calibration, zero point nudged so 0.0 is exact; biases stay float
// as in TensorFlow's quantize graph rewriter.
func QUInt8() Config {
	t := TensorConfig{Bits: 8, Nudged: true}
	return Config{Weights: t, Activations: t, Biases: TensorConfig{Float: true}}
}

// TFLiteInt8 is TensorFlow Lite's int8 scheme (the "Quantization
// specification" of the TFLite docs): weights int8 symmetric per output
// channel in [-127, 127], activations int8 asymmetric per tensor in
// [-128, 127], biases int32 with scale = input scale x weight scale and zero
// point 0.
func TFLiteInt8() Config {
	return Config{
		Weights:     TensorConfig{Bits: 8, Signed: true, Symmetric: true, RestrictedRange: true, PerChannel: true},
		Activations: TensorConfig{Bits: 8, Signed: true},
		Biases:      TensorConfig{Int32Bias: true},
	}
}

// FBGEMM is PyTorch's x86 default (torch.ao.quantization.get_default_qconfig
// ("fbgemm") in 1.13): quint8 affine activations with reduce_range (7 bits,
// [0, 127]) calibrated by HistogramObserver, and qint8 symmetric per-channel
// weights [-128, 127] (PerChannelMinMaxObserver); biases stay float32, as
// FBGEMM adds them after requantization.
func FBGEMM() Config {
	return Config{
		Weights:     TensorConfig{Bits: 8, Signed: true, Symmetric: true, PerChannel: true},
		Activations: TensorConfig{Bits: 8, ReduceRange: true, Calibrator: Calibration{Method: TorchHistogram}},
		Biases:      TensorConfig{Float: true},
	}
}

// bits returns the configured width with the default applied.
func (c TensorConfig) bits() int {
	if c.Bits == 0 {
		return 8
	}
	return c.Bits
}

// Validate reports the first impossible combination of fields, naming it.
func (c TensorConfig) Validate() error {
	if c.Float || c.Int32Bias {
		return nil
	}
	b := c.bits()
	switch {
	case b < 2 || b > 16:
		return fmt.Errorf("%w: Bits %d out of range [2, 16]", ErrConfig, c.Bits)
	case c.ReduceRange && b < 3:
		return fmt.Errorf("%w: ReduceRange with %d bits leaves fewer than 2 bits", ErrConfig, b)
	case c.RestrictedRange && !c.Symmetric && !c.Nudged:
		return fmt.Errorf("%w: RestrictedRange needs Symmetric (or Nudged narrow range)", ErrConfig)
	case c.RestrictedRange && c.ReduceRange:
		return fmt.Errorf("%w: RestrictedRange and ReduceRange together", ErrConfig)
	case c.Nudged && c.Symmetric:
		return fmt.Errorf("%w: Nudged (TensorFlow) is an affine scheme, not Symmetric", ErrConfig)
	case c.Nudged && c.PowerOfTwoScale:
		return fmt.Errorf("%w: Nudged and PowerOfTwoScale together", ErrConfig)
	case c.Axis < 0:
		return fmt.Errorf("%w: Axis %d is negative", ErrConfig, c.Axis)
	}
	cal := c.Calibrator
	switch {
	case cal.Method < MinMax || cal.Method > TorchHistogram:
		return fmt.Errorf("%w: unknown calibration %v", ErrConfig, cal.Method)
	case cal.Percentile < 0 || cal.Percentile > 100 || (cal.Percentile != 0 && cal.Percentile < 50):
		return fmt.Errorf("%w: Percentile %v not in [50, 100]", ErrConfig, cal.Percentile)
	case cal.Bins < 0 || (cal.Bins != 0 && cal.Bins < 16) || cal.Bins > 1<<20:
		return fmt.Errorf("%w: Bins %d not in [16, 2^20]", ErrConfig, cal.Bins)
	case cal.AveragingConstant < 0 || cal.AveragingConstant > 1:
		return fmt.Errorf("%w: AveragingConstant %v not in (0, 1]", ErrConfig, cal.AveragingConstant)
	case cal.Method == TorchHistogram && c.PerChannel:
		return fmt.Errorf("%w: TorchHistogram is per tensor only (as in PyTorch)", ErrConfig)
	}
	return nil
}

// Validate checks every tensor kind, naming the one that is wrong.
func (c Config) Validate() error {
	if c.Weights.Int32Bias || c.Activations.Int32Bias {
		return fmt.Errorf("%w: Int32Bias is for Biases only", ErrConfig)
	}
	for _, k := range []struct {
		name string
		tc   TensorConfig
	}{{"Weights", c.Weights}, {"Activations", c.Activations}, {"Biases", c.Biases}} {
		if err := k.tc.Validate(); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	if c.Biases.Int32Bias && (c.Weights.Float || c.Activations.Float) {
		return fmt.Errorf("%w: Int32Bias needs quantized weights and activations", ErrConfig)
	}
	for i, r := range c.Layers {
		if err := r.validate(); err != nil {
			return fmt.Errorf("Layers[%d] (%s): %w", i, r, err)
		}
	}
	return nil
}

// Range returns the integer storage range [qmin, qmax] of c.
func (c TensorConfig) Range() (qmin, qmax int32) {
	if c.Int32Bias {
		return -1 << 31, 1<<31 - 1
	}
	b := c.bits()
	if c.ReduceRange {
		b--
	}
	if c.Signed {
		qmin, qmax = -1<<(b-1), 1<<(b-1)-1
	} else {
		qmin, qmax = 0, 1<<b-1
	}
	if c.RestrictedRange {
		qmin++
	}
	return qmin, qmax
}
