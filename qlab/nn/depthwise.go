package nn

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// DepthwiseConfig configures a DepthwiseConv2D. Channels and Kernel must
// be positive.
type DepthwiseConfig struct {
	// Channels is the input channel count C.
	Channels int
	// Kernel is the square kernel size.
	Kernel int
	// Stride is the step in both spatial axes; 0 means 1.
	Stride int
	// Padding is Same (zero value, kernel/2 per side) or Valid.
	Padding Padding
	// Multiplier is the number of output channels per input channel; 0
	// means 1. Output channel o reads input channel o/Multiplier.
	Multiplier int
	// Bias adds a learned per-output-channel bias.
	Bias bool
}

// DepthwiseConv2D is a depthwise convolution (PyTorch nn.Conv2d with
// groups=C, out_channels=C*Multiplier): weight (C*Multiplier, 1, Kernel,
// Kernel), optional bias (C*Multiplier). It uses a direct kernel rather than
// im2col, since each output reads only Kernel² inputs of one channel.
type DepthwiseConv2D struct {
	base
	cfg          DepthwiseConfig
	stride, pad  int
	mult         int
	weight, bias *Param

	x, dy        *tensor.Tensor
	y, dx        tensor.Tensor
	h, w, oh, ow int
	fwdTask      taskFunc
	bwdTask      taskFunc
	zero         []float32 // a zero row for the 3x3 fast path
}

// fast3x3 reports whether the direct 3x3, stride 1, padding 1 kernels
// apply.
func (l *DepthwiseConv2D) fast3x3() bool {
	return l.cfg.Kernel == 3 && l.stride == 1 && l.pad == 1 && l.w >= 2
}

// NewDepthwiseConv2D returns a depthwise convolution named name.
func NewDepthwiseConv2D(name string, c DepthwiseConfig) (*DepthwiseConv2D, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: DepthwiseConv2D needs a name", ErrConfig)
	}
	if c.Channels <= 0 || c.Kernel <= 0 || c.Stride < 0 || c.Multiplier < 0 {
		return nil, fmt.Errorf("%w: DepthwiseConv2D %q: Channels=%d Kernel=%d Stride=%d Multiplier=%d", ErrConfig, name, c.Channels, c.Kernel, c.Stride, c.Multiplier)
	}
	if c.Padding != Same && c.Padding != Valid {
		return nil, fmt.Errorf("%w: DepthwiseConv2D %q: unknown padding %v", ErrConfig, name, c.Padding)
	}
	l := &DepthwiseConv2D{base: base{name: name}, cfg: c, stride: max(c.Stride, 1), mult: max(c.Multiplier, 1)}
	if c.Padding == Same {
		l.pad = c.Kernel / 2
	}
	out := c.Channels * l.mult
	l.weight = newParam(name+"/weight", Weight, initializers.DepthwiseMultiplier(l.mult), out, 1, c.Kernel, c.Kernel)
	if c.Bias {
		l.bias = newParam(name+"/bias", Bias, initializers.Depthwise, out)
	}
	l.fwdTask, l.bwdTask = l.forwardPlane, l.backwardChannel
	return l, nil
}

// Kind returns "DepthwiseConv2D".
func (l *DepthwiseConv2D) Kind() string { return "DepthwiseConv2D" }

// Config returns the layer's configuration.
func (l *DepthwiseConv2D) Config() DepthwiseConfig { return l.cfg }

// Weight returns the weight, shape (C*Multiplier, 1, Kernel, Kernel).
func (l *DepthwiseConv2D) Weight() *Param { return l.weight }

// Bias returns the bias (shape (C*Multiplier)) or nil.
func (l *DepthwiseConv2D) Bias() *Param { return l.bias }

// Params returns the weight and, if present, the bias.
func (l *DepthwiseConv2D) Params() []*Param {
	if l.bias != nil {
		return []*Param{l.weight, l.bias}
	}
	return []*Param{l.weight}
}

// OutputShape maps (C, H, W) to (C*Multiplier, OH, OW).
func (l *DepthwiseConv2D) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[0] != l.cfg.Channels {
		return nil, l.shapeErr("DepthwiseConv2D", in, fmt.Sprintf("(%d, H, W)", l.cfg.Channels))
	}
	oh, ow := convOut(in[1], l.cfg.Kernel, l.stride, l.pad), convOut(in[2], l.cfg.Kernel, l.stride, l.pad)
	if oh <= 0 || ow <= 0 {
		return nil, l.shapeErr("DepthwiseConv2D", in, fmt.Sprintf("spatial size at least %d after padding %d", l.cfg.Kernel, l.pad))
	}
	return []int{l.cfg.Channels * l.mult, oh, ow}, nil
}

func (l *DepthwiseConv2D) flops(in []int) int64 {
	out, err := l.OutputShape(in)
	if err != nil {
		return 0
	}
	return 2 * int64(l.cfg.Kernel*l.cfg.Kernel) * int64(tensor.Size(out))
}

// Forward convolves x, shape (N, C, H, W), into a layer-owned buffer of
// shape (N, C*Multiplier, OH, OW).
func (l *DepthwiseConv2D) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) != 4 {
		return nil, l.shapeErr("DepthwiseConv2D", x.Shape, fmt.Sprintf("(N, %d, H, W)", l.cfg.Channels))
	}
	h, w := x.Shape[2], x.Shape[3]
	oh, ow := convOut(h, l.cfg.Kernel, l.stride, l.pad), convOut(w, l.cfg.Kernel, l.stride, l.pad)
	if x.Shape[1] != l.cfg.Channels || oh <= 0 || ow <= 0 {
		_, err := l.OutputShape(x.Shape[1:])
		return nil, err
	}
	co := l.cfg.Channels * l.mult
	l.x = x
	l.h, l.w, l.oh, l.ow = h, w, oh, ow
	l.y.Resize(x.Shape[0], co, oh, ow)
	if len(l.zero) < w {
		l.zero = make([]float32, w)
	}
	parallel(x.Shape[0]*co, l.fwdTask)
	return &l.y, nil
}

// forwardPlane computes output plane i = (sample, output channel).
func (l *DepthwiseConv2D) forwardPlane(_, i int) {
	co := l.cfg.Channels * l.mult
	n, o := i/co, i%co
	ci := o / l.mult
	hw, ohw := l.h*l.w, l.oh*l.ow
	x := l.x.Data[(n*l.cfg.Channels+ci)*hw : (n*l.cfg.Channels+ci+1)*hw]
	y := l.y.Data[i*ohw : (i+1)*ohw]
	k := l.cfg.Kernel
	wt := l.weight.Value.Data[o*k*k : (o+1)*k*k]
	var b float32
	if l.bias != nil {
		b = l.bias.Value.Data[o]
	}
	if l.fast3x3() {
		conv3x3Plane(y, x, l.h, l.w, (*[9]float32)(wt), b, false, l.zero)
		return
	}
	for j := range y {
		y[j] = b
	}
	s, p := l.stride, l.pad
	for kx := 0; kx < k; kx++ {
		oxLo, oxHi := validRange(l.ow, s, kx-p, l.w)
		if oxLo >= oxHi {
			continue
		}
		for oy := 0; oy < l.oh; oy++ {
			yr := y[oy*l.ow+oxLo : oy*l.ow+oxHi]
			for ky := 0; ky < k; ky++ {
				iy := oy*s - p + ky
				if iy < 0 || iy >= l.h {
					continue
				}
				wv := wt[ky*k+kx]
				xr := x[iy*l.w : (iy+1)*l.w]
				if s == 1 {
					xs := xr[oxLo+kx-p : oxHi+kx-p]
					xs = xs[:len(yr)]
					for j, v := range xs {
						yr[j] += wv * v
					}
				} else {
					for j := range yr {
						yr[j] += wv * xr[(oxLo+j)*s-p+kx]
					}
				}
			}
		}
	}
}

// Backward takes dy, shape (N, C*Multiplier, OH, OW), adds the weight (and
// bias) gradients and returns dx, shape (N, C, H, W), in a layer-owned
// buffer. Work is split by input channel, so every gradient element is
// summed over the batch in sample order whatever the worker count.
func (l *DepthwiseConv2D) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: DepthwiseConv2D %q: Backward before Forward", l.name)
	}
	if !tensor.SameShape(dy.Shape, l.y.Shape) {
		return nil, fmt.Errorf("%w: DepthwiseConv2D %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.y.Shape)
	}
	l.dy = dy
	l.dx.Resize(l.x.Shape...)
	parallel(l.cfg.Channels, l.bwdTask)
	return &l.dx, nil
}

func (l *DepthwiseConv2D) backwardChannel(_, ci int) {
	c, k, s, p := l.cfg.Channels, l.cfg.Kernel, l.stride, l.pad
	co := c * l.mult
	hw, ohw := l.h*l.w, l.oh*l.ow
	nb := l.x.Shape[0]
	if l.fast3x3() {
		l.backwardChannel3x3(ci)
		return
	}
	for n := 0; n < nb; n++ {
		x := l.x.Data[(n*c+ci)*hw : (n*c+ci+1)*hw]
		dx := l.dx.Data[(n*c+ci)*hw : (n*c+ci+1)*hw]
		clear(dx)
		for m := 0; m < l.mult; m++ {
			o := ci*l.mult + m
			dy := l.dy.Data[(n*co+o)*ohw : (n*co+o+1)*ohw]
			wt := l.weight.Value.Data[o*k*k : (o+1)*k*k]
			gw := l.weight.Grad.Data[o*k*k : (o+1)*k*k]
			if l.bias != nil {
				var sum float32
				for _, v := range dy {
					sum += v
				}
				l.bias.Grad.Data[o] += sum
			}
			for kx := 0; kx < k; kx++ {
				oxLo, oxHi := validRange(l.ow, s, kx-p, l.w)
				if oxLo >= oxHi {
					continue
				}
				for ky := 0; ky < k; ky++ {
					wv := wt[ky*k+kx]
					var g float32
					for oy := 0; oy < l.oh; oy++ {
						iy := oy*s - p + ky
						if iy < 0 || iy >= l.h {
							continue
						}
						dr := dy[oy*l.ow+oxLo : oy*l.ow+oxHi]
						xr := x[iy*l.w : (iy+1)*l.w]
						dxr := dx[iy*l.w : (iy+1)*l.w]
						if s == 1 {
							xs := xr[oxLo+kx-p : oxHi+kx-p]
							dxs := dxr[oxLo+kx-p : oxHi+kx-p]
							xs, dxs = xs[:len(dr)], dxs[:len(dr)]
							for j, d := range dr {
								g += d * xs[j]
								dxs[j] += wv * d
							}
						} else {
							for j, d := range dr {
								ix := (oxLo+j)*s - p + kx
								g += d * xr[ix]
								dxr[ix] += wv * d
							}
						}
					}
					gw[ky*k+kx] += g
				}
			}
		}
	}
}

// backwardChannel3x3 is backwardChannel for the 3x3, stride 1, padding 1
// case: dx is the correlation of dy with the flipped kernel (the same
// direct kernel as the forward pass), summed over the multiplier.
func (l *DepthwiseConv2D) backwardChannel3x3(ci int) {
	c, hw := l.cfg.Channels, l.h*l.w
	co := c * l.mult
	for n := 0; n < l.x.Shape[0]; n++ {
		x := l.x.Data[(n*c+ci)*hw : (n*c+ci+1)*hw]
		dx := l.dx.Data[(n*c+ci)*hw : (n*c+ci+1)*hw]
		for m := 0; m < l.mult; m++ {
			o := ci*l.mult + m
			dy := l.dy.Data[(n*co+o)*hw : (n*co+o+1)*hw]
			wt := l.weight.Value.Data[o*9 : o*9+9]
			var flip [9]float32
			for j := range flip {
				flip[j] = wt[8-j]
			}
			conv3x3Plane(dx, dy, l.h, l.w, &flip, 0, m > 0, l.zero)
			g := grad3x3Plane(dy, x, l.h, l.w, l.zero)
			gw := l.weight.Grad.Data[o*9 : o*9+9]
			for j, v := range g {
				gw[j] += v
			}
			if l.bias != nil {
				var sum float32
				for _, v := range dy {
					sum += v
				}
				l.bias.Grad.Data[o] += sum
			}
		}
	}
}
