package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/internal/gemm"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Dense is a fully connected layer (PyTorch nn.Linear): y = x Wᵀ + b with
// weight (Out, In), optional bias (Out). Its input is (N, In); an input of
// any per-sample shape holding In values, e.g. (N, C, 1, 1), is flattened
// implicitly.
type Dense struct {
	base
	in, out      int
	weight, bias *Param
	x, xf        *tensor.Tensor
	y, dx        tensor.Tensor
}

// NewDense returns a dense layer named name from in to out features.
func NewDense(name string, in, out int, bias bool) (*Dense, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: Dense needs a name", ErrConfig)
	}
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("%w: Dense %q: in=%d out=%d must be positive", ErrConfig, name, in, out)
	}
	l := &Dense{base: base{name: name}, in: in, out: out}
	l.weight = newParam(name+"/weight", Weight, initializers.Dense, out, in)
	if bias {
		l.bias = newParam(name+"/bias", Bias, initializers.Dense, out)
	}
	return l, nil
}

// Kind returns "Dense".
func (l *Dense) Kind() string { return "Dense" }

// InOut returns the input and output feature counts.
func (l *Dense) InOut() (in, out int) { return l.in, l.out }

// Weight returns the weight, shape (Out, In).
func (l *Dense) Weight() *Param { return l.weight }

// Bias returns the bias (shape (Out)) or nil.
func (l *Dense) Bias() *Param { return l.bias }

// Params returns the weight and, if present, the bias.
func (l *Dense) Params() []*Param {
	if l.bias != nil {
		return []*Param{l.weight, l.bias}
	}
	return []*Param{l.weight}
}

// OutputShape maps any per-sample shape holding In values to (Out).
func (l *Dense) OutputShape(in []int) ([]int, error) {
	if len(in) == 0 || tensor.Size(in) != l.in {
		return nil, l.shapeErr("Dense", in, fmt.Sprintf("(%d)", l.in))
	}
	return []int{l.out}, nil
}

func (l *Dense) flops(in []int) int64 { return 2 * int64(l.in) * int64(l.out) }

// Forward computes x Wᵀ + b into a layer-owned (N, Out) buffer.
func (l *Dense) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) < 2 {
		return nil, l.shapeErr("Dense", x.Shape, fmt.Sprintf("(N, %d)", l.in))
	}
	n := x.Shape[0]
	if n <= 0 || len(x.Data) != n*l.in {
		_, err := l.OutputShape(x.Shape[1:])
		if err == nil {
			err = l.shapeErr("Dense", x.Shape, fmt.Sprintf("(N, %d) with N > 0", l.in))
		}
		return nil, err
	}
	l.x = x
	l.y.Resize(n, l.out)
	gemm.Sgemm(false, true, n, l.out, l.in, 1, x.Data, l.in, l.weight.Value.Data, l.in, 0, l.y.Data, l.out)
	if l.bias != nil {
		b := l.bias.Value.Data
		for i := 0; i < n; i++ {
			row := l.y.Data[i*l.out : (i+1)*l.out]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
	return &l.y, nil
}

// Backward adds dW = dyᵀ x (and db = Σ dy) and returns dx = dy W, shaped
// like the input, in a layer-owned buffer.
func (l *Dense) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: Dense %q: Backward before Forward", l.name)
	}
	if !tensor.SameShape(dy.Shape, l.y.Shape) {
		return nil, fmt.Errorf("%w: Dense %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.y.Shape)
	}
	n := l.x.Shape[0]
	gemm.Sgemm(true, false, l.out, l.in, n, 1, dy.Data, l.out, l.x.Data, l.in, 1, l.weight.Grad.Data, l.in)
	if l.bias != nil {
		g := l.bias.Grad.Data
		for j := range g {
			var s float32
			for i := 0; i < n; i++ {
				s += dy.Data[i*l.out+j]
			}
			g[j] += s
		}
	}
	l.dx.Resize(l.x.Shape...)
	gemm.Sgemm(false, false, n, l.in, l.out, 1, dy.Data, l.out, l.weight.Value.Data, l.in, 0, l.dx.Data, l.in)
	return &l.dx, nil
}

// Flatten reshapes (N, ...) to (N, product of the rest). Its output shares
// the input's data (a view), as PyTorch's flatten does.
type Flatten struct {
	base
	inShape []int
	y, dx   tensor.Tensor
}

// NewFlatten returns a flatten layer named name.
func NewFlatten(name string) (*Flatten, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: Flatten needs a name", ErrConfig)
	}
	return &Flatten{base: base{name: name}}, nil
}

// Kind returns "Flatten".
func (l *Flatten) Kind() string { return "Flatten" }

// OutputShape maps any per-sample shape to (its size).
func (l *Flatten) OutputShape(in []int) ([]int, error) {
	if len(in) == 0 {
		return nil, l.shapeErr("Flatten", in, "at least one axis")
	}
	return []int{tensor.Size(in)}, nil
}

func (l *Flatten) flops([]int) int64 { return 0 }

// Forward returns a (N, F) view of x.
func (l *Flatten) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) < 2 {
		return nil, l.shapeErr("Flatten", x.Shape, "(N, ...)")
	}
	l.inShape = append(l.inShape[:0], x.Shape...)
	l.y.Shape = append(l.y.Shape[:0], x.Shape[0], tensor.Size(x.Shape[1:]))
	l.y.Data = x.Data
	return &l.y, nil
}

// Backward returns a view of dy with the input's shape.
func (l *Flatten) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.inShape == nil {
		return nil, fmt.Errorf("nn: Flatten %q: Backward before Forward", l.name)
	}
	if len(dy.Data) != tensor.Size(l.inShape) {
		return nil, fmt.Errorf("%w: Flatten %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.y.Shape)
	}
	l.dx.Shape = append(l.dx.Shape[:0], l.inShape...)
	l.dx.Data = dy.Data
	return &l.dx, nil
}

// Dropout zeroes each element with probability P during training and scales
// the survivors by 1/(1-P) (inverted dropout, as PyTorch); in inference it
// copies its input. Masks come from a PCG generator seeded with Seed, so a
// run is reproducible: the k-th training Forward after construction (or
// Reseed) always draws the same mask.
type Dropout struct {
	base
	p      float32
	seed   uint64
	rng    *rand.Rand
	src    *rand.PCG
	x      *tensor.Tensor
	y, dx  tensor.Tensor
	mask   []float32
	masked bool
}

// NewDropout returns a dropout layer with drop probability p in [0, 1).
func NewDropout(name string, p float32, seed uint64) (*Dropout, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: Dropout needs a name", ErrConfig)
	}
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("%w: Dropout %q: probability %v not in [0, 1)", ErrConfig, name, p)
	}
	l := &Dropout{base: base{name: name}, p: p, seed: seed}
	l.src = rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	l.rng = rand.New(l.src)
	return l, nil
}

// Kind returns "Dropout".
func (l *Dropout) Kind() string { return "Dropout" }

// P returns the drop probability.
func (l *Dropout) P() float32 { return l.p }

// Reseed restarts the mask sequence from seed.
func (l *Dropout) Reseed(seed uint64) {
	l.seed = seed
	l.src.Seed(seed, 0x9e3779b97f4a7c15)
}

// OutputShape returns in unchanged.
func (l *Dropout) OutputShape(in []int) ([]int, error) { return copyShape(in), nil }

func (l *Dropout) flops(in []int) int64 { return int64(tensor.Size(in)) }

// Forward applies a fresh mask (training) or copies x (inference) into a
// layer-owned buffer.
func (l *Dropout) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	l.x = x
	l.y.Resize(x.Shape...)
	l.masked = l.training && l.p > 0
	if !l.masked {
		copy(l.y.Data, x.Data)
		return &l.y, nil
	}
	if cap(l.mask) < len(x.Data) {
		l.mask = make([]float32, len(x.Data))
	}
	l.mask = l.mask[:len(x.Data)]
	keep := 1 / (1 - l.p)
	for i, v := range x.Data {
		m := float32(0)
		if l.rng.Float32() >= l.p {
			m = keep
		}
		l.mask[i] = m
		l.y.Data[i] = v * m
	}
	return &l.y, nil
}

// Backward applies the last mask to dy.
func (l *Dropout) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: Dropout %q: Backward before Forward", l.name)
	}
	if !tensor.SameShape(dy.Shape, l.x.Shape) {
		return nil, fmt.Errorf("%w: Dropout %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.x.Shape)
	}
	l.dx.Resize(dy.Shape...)
	if !l.masked {
		copy(l.dx.Data, dy.Data)
		return &l.dx, nil
	}
	for i, d := range dy.Data {
		l.dx.Data[i] = d * l.mask[i]
	}
	return &l.dx, nil
}
