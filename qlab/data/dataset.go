package data

import (
	"errors"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// ErrCorrupt is wrapped by every error about a dataset file whose content is
// not what its format requires (bad magic number, wrong size, truncation).
var ErrCorrupt = errors.New("data: corrupt file")

// Dataset is a labelled set of images held in memory.
//
// Images has shape (N, C, H, W), float32. Readers in this package scale raw
// 8-bit pixels to [0, 1] (value/255) and apply no other normalisation; call
// Normalize for that. Labels[i] is the class index of image i, in
// [0, len(Classes)).
type Dataset struct {
	Name    string
	Images  *tensor.Tensor
	Labels  []int
	Classes []string
}

// NewDataset checks that images (N, C, H, W) and labels agree and that every
// label is a valid class index, and returns the dataset. It does not copy.
func NewDataset(name string, images *tensor.Tensor, labels []int, classes []string) (*Dataset, error) {
	d := &Dataset{Name: name, Images: images, Labels: labels, Classes: classes}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Validate returns an error naming the first inconsistency in d: images not
// 4-D, data size not matching the shape, a label count that differs from the
// image count, or a label outside [0, len(Classes)).
func (d *Dataset) Validate() error {
	if d == nil {
		return errors.New("data: nil dataset")
	}
	if d.Images == nil {
		return fmt.Errorf("data: dataset %q has no images", d.Name)
	}
	if len(d.Images.Shape) != 4 {
		return fmt.Errorf("data: dataset %q: images have shape %v; want (N, C, H, W)", d.Name, d.Images.Shape)
	}
	if n := tensor.Size(d.Images.Shape); n < 0 || n != len(d.Images.Data) {
		return fmt.Errorf("data: dataset %q: images shape %v does not match %d values", d.Name, d.Images.Shape, len(d.Images.Data))
	}
	if d.Images.Shape[0] != len(d.Labels) {
		return fmt.Errorf("data: dataset %q: %d images but %d labels", d.Name, d.Images.Shape[0], len(d.Labels))
	}
	if len(d.Classes) == 0 {
		return fmt.Errorf("data: dataset %q has no class names", d.Name)
	}
	for i, l := range d.Labels {
		if l < 0 || l >= len(d.Classes) {
			return fmt.Errorf("data: dataset %q: label %d of sample %d is outside [0, %d)", d.Name, l, i, len(d.Classes))
		}
	}
	return nil
}

// Len returns the number of samples.
func (d *Dataset) Len() int { return len(d.Labels) }

// Shape returns the per-sample shape (C, H, W).
func (d *Dataset) Shape() []int {
	if d.Images == nil || len(d.Images.Shape) != 4 {
		return nil
	}
	return append([]int(nil), d.Images.Shape[1:]...)
}

// sampleSize is C*H*W.
func (d *Dataset) sampleSize() int {
	if d.Images == nil || len(d.Images.Shape) != 4 {
		return 0
	}
	return d.Images.Shape[1] * d.Images.Shape[2] * d.Images.Shape[3]
}

// NumClasses returns len(d.Classes).
func (d *Dataset) NumClasses() int { return len(d.Classes) }

// Slice returns samples [lo, hi) as a dataset that shares d's storage: no
// pixels are copied, and writing to one writes to the other. Use Clone on
// the result for an independent copy.
func (d *Dataset) Slice(lo, hi int) (*Dataset, error) {
	if lo < 0 || hi > d.Len() || lo > hi {
		return nil, fmt.Errorf("data: dataset %q: slice [%d, %d) out of range [0, %d)", d.Name, lo, hi, d.Len())
	}
	s := d.sampleSize()
	shape := append([]int(nil), d.Images.Shape...)
	shape[0] = hi - lo
	return &Dataset{
		Name:    d.Name,
		Images:  &tensor.Tensor{Shape: shape, Data: d.Images.Data[lo*s : hi*s : hi*s]},
		Labels:  d.Labels[lo:hi:hi],
		Classes: d.Classes,
	}, nil
}

// Subset returns the first n samples (all of them when n >= Len or n <= 0)
// sharing d's storage, like Slice.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n > d.Len() {
		n = d.Len()
	}
	s, _ := d.Slice(0, n) // in range by construction
	return s
}

// Clone returns a deep copy of d.
func (d *Dataset) Clone() *Dataset {
	return &Dataset{
		Name:    d.Name,
		Images:  d.Images.Clone(),
		Labels:  append([]int(nil), d.Labels...),
		Classes: append([]string(nil), d.Classes...),
	}
}

// Permutation returns the order in which Shuffle(seed) arranges the
// samples: a Fisher–Yates permutation of [0, Len) drawn from a PCG stream
// seeded by seed. It depends only on seed and Len, on every machine.
func (d *Dataset) Permutation(seed uint64) []int {
	p := make([]int, d.Len())
	permute(p, seed, 0)
	return p
}

// Shuffle returns a copy of d with its samples reordered by
// Permutation(seed). d is not modified.
func (d *Dataset) Shuffle(seed uint64) *Dataset {
	return d.Gather(d.Permutation(seed))
}

// Gather returns a copy of d holding samples idx[0], idx[1], ... in that
// order. Indices must be in range.
func (d *Dataset) Gather(idx []int) *Dataset {
	s := d.sampleSize()
	shape := append([]int(nil), d.Images.Shape...)
	shape[0] = len(idx)
	out := &Dataset{
		Name:    d.Name,
		Images:  &tensor.Tensor{Shape: shape, Data: make([]float32, len(idx)*s)},
		Labels:  make([]int, len(idx)),
		Classes: append([]string(nil), d.Classes...),
	}
	for i, j := range idx {
		copy(out.Images.Data[i*s:(i+1)*s], d.Images.Data[j*s:(j+1)*s])
		out.Labels[i] = d.Labels[j]
	}
	return out
}

// Stats returns the per-channel mean and (population) standard deviation of
// the images, accumulated in float64 in a fixed order. Both slices have C
// entries.
func (d *Dataset) Stats() (mean, std []float32) {
	if d.Images == nil || len(d.Images.Shape) != 4 {
		return nil, nil
	}
	n, c, hw := d.Images.Shape[0], d.Images.Shape[1], d.Images.Shape[2]*d.Images.Shape[3]
	mean, std = make([]float32, c), make([]float32, c)
	if n == 0 || hw == 0 {
		return mean, std
	}
	for ch := 0; ch < c; ch++ {
		// Two passes: the one-pass sum-of-squares formula loses digits when
		// the mean is large relative to the spread.
		var sum float64
		for i := 0; i < n; i++ {
			for _, v := range d.Images.Data[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				sum += float64(v)
			}
		}
		m := sum / float64(n*hw)
		var ss float64
		for i := 0; i < n; i++ {
			for _, v := range d.Images.Data[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				dv := float64(v) - m
				ss += dv * dv
			}
		}
		mean[ch] = float32(m)
		std[ch] = float32(math.Sqrt(ss / float64(n*hw)))
	}
	return mean, std
}

// Normalize returns a copy of d with every pixel of channel c replaced by
// (x - mean[c]) / std[c]. mean and std need one entry per channel (a single
// entry is broadcast to all channels); std entries must be positive and
// finite. d itself is left unchanged, so re-running a notebook cell does not
// normalise twice.
func (d *Dataset) Normalize(mean, std []float32) (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	c := d.Images.Shape[1]
	m, s, err := broadcast(c, mean, std)
	if err != nil {
		return nil, fmt.Errorf("data: dataset %q: %w", d.Name, err)
	}
	out := d.Clone()
	n, hw := d.Images.Shape[0], d.Images.Shape[2]*d.Images.Shape[3]
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			mv, inv := m[ch], 1/s[ch]
			px := out.Images.Data[(i*c+ch)*hw : (i*c+ch+1)*hw]
			for k, v := range px {
				px[k] = (v - mv) * inv
			}
		}
	}
	return out, nil
}

func broadcast(c int, mean, std []float32) (m, s []float32, err error) {
	expand := func(what string, v []float32) ([]float32, error) {
		switch len(v) {
		case c:
			return v, nil
		case 1:
			out := make([]float32, c)
			for i := range out {
				out[i] = v[0]
			}
			return out, nil
		}
		return nil, fmt.Errorf("%s has %d entries; want %d (one per channel) or 1", what, len(v), c)
	}
	if m, err = expand("mean", mean); err != nil {
		return nil, nil, err
	}
	if s, err = expand("std", std); err != nil {
		return nil, nil, err
	}
	for i, v := range m {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("mean[%d] = %v is not finite", i, v)
		}
	}
	for i, v := range s {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("std[%d] = %v must be positive and finite", i, v)
		}
	}
	return m, s, nil
}

// String summarises d.
func (d *Dataset) String() string {
	if d == nil || d.Images == nil {
		return "Dataset(empty)"
	}
	return fmt.Sprintf("Dataset %q: %d samples of %v, %d classes", d.Name, d.Len(), d.Shape(), len(d.Classes))
}
