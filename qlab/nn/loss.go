package nn

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// SoftmaxCrossEntropy is the mean over the batch of -log softmax(logits)[label]
// (PyTorch nn.CrossEntropyLoss with reduction="mean"). The zero value is
// ready to use; it keeps buffers between calls.
type SoftmaxCrossEntropy struct {
	probs tensor.Tensor
	grad  tensor.Tensor
	lbl   []int
	ready bool
}

// Forward returns the mean loss of logits, shape (N, K), against labels
// (N values in [0, K)). It subtracts each row's maximum before
// exponentiating and accumulates in float64, so large logits do not
// overflow. Labels out of range and non-finite logits are errors.
func (s *SoftmaxCrossEntropy) Forward(logits *tensor.Tensor, labels []int) (float64, error) {
	s.ready = false
	if logits == nil || len(logits.Shape) != 2 || logits.Shape[0] == 0 || logits.Shape[1] == 0 {
		var got []int
		if logits != nil {
			got = logits.Shape
		}
		return 0, fmt.Errorf("%w: SoftmaxCrossEntropy: logits shape %v, want (N, K)", ErrShape, got)
	}
	n, k := logits.Shape[0], logits.Shape[1]
	if len(labels) != n {
		return 0, fmt.Errorf("%w: SoftmaxCrossEntropy: %d labels for %d logit rows", ErrShape, len(labels), n)
	}
	s.probs.Resize(n, k)
	s.lbl = append(s.lbl[:0], labels...)
	var total float64
	for i := 0; i < n; i++ {
		y := labels[i]
		if y < 0 || y >= k {
			return 0, fmt.Errorf("nn: SoftmaxCrossEntropy: label %d of sample %d out of range [0, %d)", y, i, k)
		}
		row := logits.Data[i*k : (i+1)*k]
		p := s.probs.Data[i*k : (i+1)*k]
		mx := row[0]
		for _, v := range row {
			if v != v || v > maxFloat32 || v < -maxFloat32 {
				return 0, fmt.Errorf("%w: SoftmaxCrossEntropy: logit of sample %d is %v", ErrNotFinite, i, v)
			}
			mx = max(mx, v)
		}
		var z float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			p[j] = float32(e)
			z += e
		}
		inv := 1 / z
		for j := range p {
			p[j] = float32(float64(p[j]) * inv)
		}
		total += math.Log(z) - float64(row[y]-mx)
	}
	s.ready = true
	return total / float64(n), nil
}

// Backward returns dLoss/dlogits = (softmax - onehot)/N for the last
// Forward, in a buffer owned by s (nil if Forward failed or never ran).
func (s *SoftmaxCrossEntropy) Backward() *tensor.Tensor {
	if !s.ready {
		return nil
	}
	n, k := s.probs.Shape[0], s.probs.Shape[1]
	s.grad.Resize(n, k)
	inv := 1 / float32(n)
	for i := 0; i < n; i++ {
		p := s.probs.Data[i*k : (i+1)*k]
		g := s.grad.Data[i*k : (i+1)*k]
		for j, v := range p {
			g[j] = v * inv
		}
		g[s.lbl[i]] -= inv
	}
	return &s.grad
}

// Probs returns the softmax probabilities of the last Forward, shape
// (N, K), owned by s.
func (s *SoftmaxCrossEntropy) Probs() *tensor.Tensor { return &s.probs }

// Correct returns how many rows of logits, shape (N, K), have their
// largest value (the first, on ties) at the label's index.
func Correct(logits *tensor.Tensor, labels []int) (int, error) {
	if logits == nil || len(logits.Shape) != 2 {
		var got []int
		if logits != nil {
			got = logits.Shape
		}
		return 0, fmt.Errorf("%w: Correct: logits shape %v, want (N, K)", ErrShape, got)
	}
	n, k := logits.Shape[0], logits.Shape[1]
	if len(labels) != n {
		return 0, fmt.Errorf("%w: Correct: %d labels for %d logit rows", ErrShape, len(labels), n)
	}
	c := 0
	for i := 0; i < n; i++ {
		if labels[i] < 0 || labels[i] >= k {
			return 0, fmt.Errorf("nn: Correct: label %d of sample %d out of range [0, %d)", labels[i], i, k)
		}
		if Argmax(logits.Data[i*k:(i+1)*k]) == labels[i] {
			c++
		}
	}
	return c, nil
}

// Argmax returns the index of the largest value of v (the first on ties;
// -1 for an empty slice).
func Argmax(v []float32) int {
	if len(v) == 0 {
		return -1
	}
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}
