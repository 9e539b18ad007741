package initializers

import (
	"fmt"
	"strings"
)

// Layout says how a weight tensor's axes are laid out, which decides its fans.
// The zero value is Dense.
type Layout int

const (
	// Dense is a fully connected weight of shape (out, in).
	Dense Layout = iota
	// Conv is a convolution weight of shape (out, in, kh, kw) (PyTorch
	// layout); a pointwise 1x1 convolution is Conv with kh = kw = 1.
	Conv
	// Depthwise is a depthwise convolution weight of shape
	// (C*multiplier, 1, kh, kw) (PyTorch layout, groups = C) with channel
	// multiplier 1. Use DepthwiseMultiplier for other multipliers: the
	// multiplier cannot be recovered from the shape, and Keras's fans need it.
	Depthwise
)

// kindMask keeps the layout kind; the bits above hold multiplier-1 for
// depthwise layouts.
const kindMask = 0xff

// DepthwiseMultiplier returns the Depthwise layout for a channel multiplier m
// (the number of output channels per input channel); DepthwiseMultiplier(1)
// == Depthwise. A multiplier below 1 is treated as 1.
func DepthwiseMultiplier(m int) Layout {
	if m < 1 {
		m = 1
	}
	return Depthwise | Layout((m-1)<<8)
}

// Kind returns the layout without its depthwise multiplier: Dense, Conv or
// Depthwise.
func (l Layout) Kind() Layout { return l & kindMask }

// Multiplier returns the depthwise channel multiplier (1 for other layouts).
func (l Layout) Multiplier() int {
	if l.Kind() != Depthwise {
		return 1
	}
	return int(l>>8) + 1
}

// String returns "dense", "conv", "depthwise" or "depthwise(xM)".
func (l Layout) String() string {
	switch l.Kind() {
	case Dense:
		return "dense"
	case Conv:
		return "conv"
	case Depthwise:
		if m := l.Multiplier(); m != 1 {
			return fmt.Sprintf("depthwise(x%d)", m)
		}
		return "depthwise"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// FanConvention selects the rule that turns a weight shape into fans. The
// zero value ("") is KerasFans.
type FanConvention string

const (
	// KerasFans is the rule of Keras's variance-scaling initializers
	// (what the reproduced papers used): see Fans.
	KerasFans FanConvention = "keras"
	// PyTorchFans is torch.nn.init's rule: fanIn = shape[1]*kh*kw,
	// fanOut = shape[0]*kh*kw. It equals Keras's for Dense and Conv; for a
	// depthwise kernel (C*m, 1, kh, kw) it gives fanIn = kh*kw and
	// fanOut = C*m*kh*kw.
	PyTorchFans FanConvention = "pytorch"
)

// Fans returns the fan-in and fan-out of a weight of the given shape and
// layout under the Keras variance-scaling convention, which is the default
// of this package:
//
//   - receptive field rf = kh*kw (1 for Dense);
//   - Dense (out, in): fanIn = in, fanOut = out;
//   - Conv (out, in, kh, kw): fanIn = in*rf, fanOut = out*rf;
//   - Depthwise (C*m, 1, kh, kw) with multiplier m (Layout.Multiplier):
//     Keras stores this kernel as (kh, kw, C, m) and its generic rule gives
//     fanIn = C*rf and fanOut = m*rf. PyTorch's rule would give fanIn = rf
//     (see PyTorchFans and FansFor).
//
// It returns (0, 0) when the shape does not fit the layout (wrong rank, an
// extent below 1, a depthwise shape[1] != 1 or shape[0] not divisible by the
// multiplier); Fill reports those as errors.
func Fans(shape []int, layout Layout) (fanIn, fanOut int) {
	fi, fo, err := FansFor(shape, layout, KerasFans)
	if err != nil {
		return 0, 0
	}
	return fi, fo
}

// FansFor is Fans under a chosen convention; it returns an error naming the
// shape and layout when they do not fit.
func FansFor(shape []int, layout Layout, conv FanConvention) (fanIn, fanOut int, err error) {
	if err := checkShape(shape, layout); err != nil {
		return 0, 0, err
	}
	switch conv {
	case "", KerasFans, PyTorchFans:
	default:
		return 0, 0, fmt.Errorf("initializers: unknown fan convention %q (want %q or %q)", string(conv), KerasFans, PyTorchFans)
	}
	switch layout.Kind() {
	case Dense:
		return shape[1], shape[0], nil
	case Conv:
		rf := shape[2] * shape[3]
		return shape[1] * rf, shape[0] * rf, nil
	default: // Depthwise, checked above
		rf := shape[2] * shape[3]
		if conv == PyTorchFans {
			return shape[1] * rf, shape[0] * rf, nil
		}
		m := layout.Multiplier()
		c := shape[0] / m
		return c * rf, m * rf, nil
	}
}

// checkShape returns an error when shape does not fit layout.
func checkShape(shape []int, layout Layout) error {
	rank := 4
	switch layout.Kind() {
	case Dense:
		rank = 2
	case Conv, Depthwise:
	default:
		return fmt.Errorf("initializers: unknown layout %v", layout)
	}
	if len(shape) != rank {
		return fmt.Errorf("initializers: %v weight must have rank %d (%s); got shape %v", layout, rank, layoutAxes(layout), shape)
	}
	for _, d := range shape {
		if d < 1 {
			return fmt.Errorf("initializers: %v weight shape %v has an extent below 1", layout, shape)
		}
	}
	if layout.Kind() == Depthwise {
		if shape[1] != 1 {
			return fmt.Errorf("initializers: depthwise weight shape %v must have shape[1] == 1 (C*multiplier, 1, kh, kw)", shape)
		}
		if m := layout.Multiplier(); shape[0]%m != 0 {
			return fmt.Errorf("initializers: depthwise weight shape %v: %d output channels not divisible by multiplier %d", shape, shape[0], m)
		}
	}
	return nil
}

func layoutAxes(l Layout) string {
	switch l.Kind() {
	case Dense:
		return "out, in"
	case Conv:
		return "out, in, kh, kw"
	}
	return strings.Join([]string{"C*multiplier", "1", "kh", "kw"}, ", ")
}
