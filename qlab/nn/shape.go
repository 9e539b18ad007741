package nn

import "github.com/qlab-dev/qlab/qlab/tensor"

// resize is tensor.Resize without its variadic argument escaping to the
// heap (tensor.Resize formats the shape in a panic message), so calling it
// every step allocates nothing once storage is large enough.
func resize(t *tensor.Tensor, shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
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
