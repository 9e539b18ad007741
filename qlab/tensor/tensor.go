package tensor

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrShape is returned (wrapped) when a shape is invalid or does not match
// the data it describes.
var ErrShape = errors.New("tensor: bad shape")

// Tensor is a dense row-major float32 array. Shape lists the extent of every
// axis, outermost first; Data holds exactly the product of Shape elements.
// A zero Tensor is an empty scalar-less tensor with no data.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero-filled tensor of the given shape. It panics if an extent
// is negative, which is a programming error rather than user input.
func New(shape ...int) *Tensor {
	n := Size(shape)
	if n < 0 {
		panic(fmt.Sprintf("tensor.New: negative extent in shape %v", shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// From wraps data (without copying) in a tensor of the given shape. It
// returns an error naming both when their sizes disagree.
func From(data []float32, shape ...int) (*Tensor, error) {
	n := Size(shape)
	if n < 0 {
		return nil, fmt.Errorf("%w: negative extent in %v", ErrShape, shape)
	}
	if n != len(data) {
		return nil, fmt.Errorf("%w: shape %v holds %d elements, data has %d", ErrShape, shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Size returns the number of elements a shape holds (1 for the empty shape),
// or -1 if any extent is negative.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Len returns the number of elements in t.
func (t *Tensor) Len() int { return len(t.Data) }

// Dim returns the extent of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
// One extent may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	s := append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, t.Shape, shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(t.Data)%known != 0 {
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, t.Shape, shape)
		}
		s[infer] = len(t.Data) / known
		known *= s[infer]
	}
	if known != len(t.Data) {
		return nil, fmt.Errorf("%w: cannot reshape %v (%d elements) to %v", ErrShape, t.Shape, len(t.Data), shape)
	}
	return &Tensor{Shape: s, Data: t.Data}, nil
}

// Resize makes t hold the given shape, reusing its storage when it is large
// enough, so buffers reach a steady state and later calls allocate nothing.
// Contents are unspecified afterwards.
func (t *Tensor) Resize(shape ...int) {
	n := Size(shape)
	if n < 0 {
		// Print a copy: passing shape itself to fmt would make every
		// caller's variadic slice escape to the heap.
		panic(fmt.Sprintf("tensor.Resize: negative extent in shape %v", append([]int(nil), shape...)))
	}
	if cap(t.Data) >= n {
		t.Data = t.Data[:n]
	} else {
		t.Data = make([]float32, n)
	}
	if len(t.Shape) == len(shape) {
		copy(t.Shape, shape)
	} else {
		t.Shape = append(t.Shape[:0], shape...)
	}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CheckFinite returns an error naming the first NaN or Inf element of t, or nil.
func (t *Tensor) CheckFinite() error {
	for i, v := range t.Data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("tensor: element %d of shape %v is %v", i, t.Shape, v)
		}
	}
	return nil
}

// String summarises t: its shape, and its min, max and mean when it has data.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.Shape)
	if len(t.Data) == 0 {
		return b.String()
	}
	lo, hi, sum := t.Data[0], t.Data[0], 0.0
	for _, v := range t.Data {
		lo, hi = min(lo, v), max(hi, v)
		sum += float64(v)
	}
	fmt.Fprintf(&b, " min=%.4g max=%.4g mean=%.4g", lo, hi, sum/float64(len(t.Data)))
	return b.String()
}
