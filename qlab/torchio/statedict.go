package torchio

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrFormat is returned (wrapped, naming the file or tensor) when a file is
// not a readable torch.save or safetensors state_dict: truncated, corrupt,
// of another format, or holding something other than tensors.
var ErrFormat = errors.New("torchio: bad checkpoint file")

// ErrMismatch is returned (wrapped, naming every offending tensor with its
// shape and the expected one) when a state_dict does not fit a model:
// unknown, missing, mis-shaped, mis-typed or non-finite tensors.
var ErrMismatch = errors.New("torchio: state_dict does not fit the model")

// DType is an element type, named as PyTorch names it.
type DType string

// The element types the readers accept. Float16, BFloat16 and Float64 are
// converted to float32 on reading, as qlab computes in float32.
const (
	Float32  DType = "float32"
	Float64  DType = "float64"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == Float16 || d == BFloat16
}

// Tensor is one entry of a state_dict, contiguous and row-major.
type Tensor struct {
	// Name is the state_dict key, e.g. "stem.conv.weight".
	Name string
	// DType is the element type as stored in the file.
	DType DType
	// Shape is the tensor's shape; empty for a scalar (one value).
	Shape []int
	// Floats holds the values of a floating-point tensor, converted to
	// float32; nil otherwise.
	Floats []float32
	// Ints holds the values of an integer or bool tensor; nil otherwise.
	Ints []int64
}

// Len returns the number of elements (1 for a scalar).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t *Tensor) check() error {
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return fmt.Errorf("%w: tensor %q: shape %v", ErrFormat, t.Name, t.Shape)
		}
		n *= d
	}
	switch {
	case t.DType.IsFloat() && len(t.Floats) != n, !t.DType.IsFloat() && len(t.Ints) != n:
		return fmt.Errorf("%w: tensor %q of shape %v holds %d values", ErrFormat, t.Name, t.Shape, max(len(t.Floats), len(t.Ints)))
	}
	return nil
}

// StateDict is an ordered list of named tensors: what torch.save of a
// module's state_dict() holds, or a safetensors file.
type StateDict struct {
	tensors  []*Tensor
	index    map[string]int
	metadata map[string]string
}

// Metadata returns a safetensors file's "__metadata__" (string to
// string), or nil.
func (s *StateDict) Metadata() map[string]string { return s.metadata }

// NewStateDict returns an empty state_dict.
func NewStateDict() *StateDict { return &StateDict{index: map[string]int{}} }

// Add appends t; it is an error for the name to be taken already or for
// t's values not to match its shape and type.
func (s *StateDict) Add(t *Tensor) error {
	if t == nil || t.Name == "" {
		return fmt.Errorf("torchio: tensor without a name")
	}
	if _, dup := s.index[t.Name]; dup {
		return fmt.Errorf("%w: tensor %q appears twice", ErrFormat, t.Name)
	}
	if err := t.check(); err != nil {
		return err
	}
	s.index[t.Name] = len(s.tensors)
	s.tensors = append(s.tensors, t)
	return nil
}

// Len returns the number of tensors.
func (s *StateDict) Len() int { return len(s.tensors) }

// Names returns the keys in file order.
func (s *StateDict) Names() []string {
	out := make([]string, len(s.tensors))
	for i, t := range s.tensors {
		out[i] = t.Name
	}
	return out
}

// Tensor returns the named tensor, or nil.
func (s *StateDict) Tensor(name string) *Tensor {
	if i, ok := s.index[name]; ok {
		return s.tensors[i]
	}
	return nil
}

// Tensors returns the tensors in file order.
func (s *StateDict) Tensors() []*Tensor { return append([]*Tensor(nil), s.tensors...) }

// sorted returns the tensors ordered by name (for deterministic output).
func (s *StateDict) sorted() []*Tensor {
	ts := s.Tensors()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts
}
