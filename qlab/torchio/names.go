package torchio

import (
	"fmt"
	"strings"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// ModulePath returns the reference network's module path of a qlab layer
// name: "/" becomes ".", and a trailing "/bn" (or activation) joins the
// layer before it with "_": "stem/conv" -> "stem.conv", "block1/dw/bn" ->
// "block1.dw_bn", "stem/conv/relu" -> "stem.conv_relu", "pool1" -> "pool1".
func ModulePath(layer string) string {
	parts := strings.Split(layer, "/")
	if len(parts) > 2 {
		parts = append(parts[:len(parts)-2:len(parts)-2], parts[len(parts)-2]+"_"+parts[len(parts)-1])
	}
	return strings.Join(parts, ".")
}

// TorchKey returns the reference state_dict key of a qlab parameter or
// buffer name: ModulePath of the layer, then the role, with BatchNorm's
// gamma and beta renamed weight and bias (nn.BatchNorm2d's names):
//
//	stem/conv/weight           -> stem.conv.weight
//	stem/conv/bn/gamma         -> stem.conv_bn.weight
//	stem/conv/bn/running_var   -> stem.conv_bn.running_var
//	block3/expand/bn/beta      -> block3.expand_bn.bias
//	head/fc/bias               -> head.fc.bias
func TorchKey(param string) string {
	i := strings.LastIndexByte(param, '/')
	if i < 0 {
		return param
	}
	layer, role := param[:i], param[i+1:]
	switch role {
	case "gamma":
		role = "weight"
	case "beta":
		role = "bias"
	}
	return ModulePath(layer) + "." + role
}

// Mapping is one row of a model's name mapping.
type Mapping struct {
	// Param is the qlab parameter or buffer name; "" for a
	// num_batches_tracked entry, which qlab does not keep.
	Param string
	// Key is the reference state_dict key.
	Key string
	// Shape is the tensor's shape, the same in both (PyTorch's layouts:
	// conv (out, in, kh, kw), depthwise (C, 1, kh, kw), dense (out, in)).
	Shape []int
	// Buffer reports a non-trainable buffer (running statistics,
	// num_batches_tracked).
	Buffer bool
}

// Names returns m's name mapping in forward order: every parameter and
// BatchNorm buffer with its state_dict key and shape, and each
// BatchNorm2D's num_batches_tracked (shape [], int64). It is the order
// state_dict() lists the reference network's entries in.
func Names(m *nn.Model) []Mapping {
	var out []Mapping
	for _, l := range m.Layers() {
		var ps []*nn.Param
		ps = append(ps, l.Params()...)
		if b, ok := l.(nn.Bufferer); ok {
			ps = append(ps, b.Buffers()...)
		}
		for _, p := range ps {
			out = append(out, Mapping{Param: p.Name, Key: TorchKey(p.Name), Shape: append([]int{}, p.Value.Shape...), Buffer: p.Grad == nil})
		}
		if _, ok := l.(*nn.BatchNorm2D); ok {
			out = append(out, Mapping{Key: ModulePath(l.Name()) + ".num_batches_tracked", Shape: []int{}, Buffer: true})
		}
	}
	return out
}

// NamesTable returns Names(m) as text, one "key  <-  param  shape" line
// per entry, for reading in a notebook.
func NamesTable(m *nn.Model) string {
	var b strings.Builder
	w := 0
	for _, r := range Names(m) {
		w = max(w, len(r.Key))
	}
	for _, r := range Names(m) {
		p := r.Param
		if p == "" {
			p = "(not kept: int64 counter)"
		}
		fmt.Fprintf(&b, "%-*s  <-  %-36s %v\n", w, r.Key, p, r.Shape)
	}
	return b.String()
}
