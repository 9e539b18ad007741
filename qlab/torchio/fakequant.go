package torchio

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/qlab-dev/qlab/qlab/quant"
)

// FakeQuantParams are one tensor's quantization parameters in the terms of
// torch.fake_quantize_per_tensor_affine (Axis -1, one Scale and ZeroPoint)
// and torch.fake_quantize_per_channel_affine (one per slice along Axis).
type FakeQuantParams struct {
	Scale     []float32 `json:"scale"`
	ZeroPoint []int32   `json:"zero_point"`
	QuantMin  int32     `json:"quant_min"`
	QuantMax  int32     `json:"quant_max"`
	Axis      int       `json:"axis"`
	// Nudged records that qlab rounds TensorFlow's way (floor(v+0.5) from
	// the nudged minimum) where PyTorch rounds half to even; the two differ
	// only for values exactly halfway between two levels.
	Nudged bool `json:"nudged,omitempty"`
}

// FakeQuantLayer is one quantization record: the layer's weight and bias
// params and the params of its output (each nil when not quantized).
type FakeQuantLayer struct {
	// Layer is qlab's layer name (quant.InputName for the input); Module
	// the reference network's module path (ModulePath), "" for the input.
	Layer  string           `json:"layer"`
	Module string           `json:"module"`
	Kind   string           `json:"kind"`
	Weight *FakeQuantParams `json:"weight,omitempty"`
	Bias   *FakeQuantParams `json:"bias,omitempty"`
	Output *FakeQuantParams `json:"output,omitempty"`
}

// FakeQuantSpec is a fake-quantized model's parameters, per layer in
// forward order, as WriteFakeQuant writes them.
type FakeQuantSpec struct {
	Model string `json:"model"`
	// Folded reports that batch norm was folded (quant.Config.NoFoldBN
	// unset): the parameters then belong to quant.FoldBatchNorm of the
	// model, a network of the same architecture without batch norm whose
	// convolutions have biases.
	Folded bool             `json:"folded"`
	Layers []FakeQuantLayer `json:"layers"`
}

func fqParams(q *quant.QParams) *FakeQuantParams {
	if q == nil {
		return nil
	}
	return &FakeQuantParams{Scale: append([]float32(nil), q.Scale...), ZeroPoint: append([]int32(nil), q.ZeroPoint...),
		QuantMin: q.QMin, QuantMax: q.QMax, Axis: q.Axis, Nudged: q.Nudged}
}

// FakeQuantOf returns q's parameters with the reference module path of
// every layer.
func FakeQuantOf(q *quant.Model) (*FakeQuantSpec, error) {
	if q == nil || q.Net == nil {
		return nil, fmt.Errorf("torchio: FakeQuantOf needs a quantized model")
	}
	s := &FakeQuantSpec{Model: q.Net.Name(), Folded: !q.Options.Config.NoFoldBN}
	for _, l := range q.Layers {
		fl := FakeQuantLayer{Layer: l.Layer, Kind: l.Kind, Weight: fqParams(l.Weight), Bias: fqParams(l.Bias), Output: fqParams(l.Output)}
		if l.Layer != quant.InputName {
			fl.Module = ModulePath(l.Layer)
		}
		s.Layers = append(s.Layers, fl)
	}
	return s, nil
}

// WriteFakeQuant writes q's parameters as JSON (FakeQuantSpec).
// apply_fake_quant in reference/qlab_models.py applies them to a reference
// network holding the float weights — quant.FoldBatchNorm(m) saved with
// Save, loaded into the definition built with batch_norm=False — with
// torch.fake_quantize_per_tensor_affine / _per_channel_affine on weights,
// biases, the input and every quantized layer output (forward hooks).
func WriteFakeQuant(w io.Writer, q *quant.Model) error {
	s, err := FakeQuantOf(q)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return fmt.Errorf("torchio: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("torchio: %w", err)
	}
	return nil
}

// SaveFakeQuant writes WriteFakeQuant's JSON to path.
func SaveFakeQuant(q *quant.Model, path string) error {
	return writeFile(path, func(w io.Writer) error { return WriteFakeQuant(w, q) })
}
