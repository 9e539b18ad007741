package torchio

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// LoadOptions configure LoadStateDict. The zero value expects the
// reference network's keys exactly.
type LoadOptions struct {
	// Prefix is removed from every key that starts with it before
	// matching, e.g. "module." for a model saved from inside
	// torch.nn.DataParallel or DistributedDataParallel.
	Prefix string
}

// Load reads path (torch.save or safetensors, see ReadFile) into m. See
// LoadStateDict for what must match.
func Load(m *nn.Model, path string) error {
	sd, err := ReadFile(path)
	if err != nil {
		return err
	}
	if err := LoadStateDict(m, sd, LoadOptions{}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadStateDict sets every parameter and BatchNorm running statistic of m
// from sd, named as Names(m) lists them. The whole state_dict is checked
// first: an unknown key, a missing one, a shape other than the expected
// one, an integer tensor where a float one belongs, or a NaN or Inf value
// is an error wrapping ErrMismatch that lists every such tensor with its
// shape and the expected one, and m is left unchanged. Float16, bfloat16
// and float64 values are converted to float32.
//
// num_batches_tracked is checked (an integer scalar) when present and may
// be absent: qlab's BatchNorm2D uses a fixed momentum, and PyTorch uses the
// counter only with momentum=None. The state_dict carries no BatchNorm
// momentum or eps: build m with the ones the checkpoint was trained with
// (the reference networks use PyTorch's defaults, 0.1 and 1e-5, as qlab's
// specs do). Gradients are zeroed.
func LoadStateDict(m *nn.Model, sd *StateDict, opt LoadOptions) error {
	if m == nil || sd == nil {
		return fmt.Errorf("torchio: LoadStateDict needs a model and a state_dict")
	}
	want := map[string]Mapping{}
	for _, r := range Names(m) {
		want[r.Key] = r
	}
	var problems []string
	seen := map[string]bool{}
	state := map[string][]float32{}
	for _, t := range sd.tensors {
		key := t.Name
		if opt.Prefix != "" {
			key = strings.TrimPrefix(key, opt.Prefix)
		}
		r, ok := want[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown tensor %q of shape %v (model %q has no such parameter%s)", t.Name, t.Shape, m.Name(), hint(key, want)))
			continue
		}
		if seen[key] {
			problems = append(problems, fmt.Sprintf("tensor %q appears twice (after removing prefix %q)", t.Name, opt.Prefix))
			continue
		}
		seen[key] = true
		if r.Param == "" { // num_batches_tracked
			if t.DType.IsFloat() || t.Len() != 1 || len(t.Shape) > 1 {
				problems = append(problems, fmt.Sprintf("tensor %q has shape %v and dtype %s; want an int64 scalar, shape []", t.Name, t.Shape, t.DType))
			}
			continue
		}
		if !tensor.SameShape(t.Shape, r.Shape) {
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v; want %v (qlab %q)", t.Name, t.Shape, r.Shape, r.Param))
			continue
		}
		if !t.DType.IsFloat() {
			problems = append(problems, fmt.Sprintf("tensor %q of shape %v has dtype %s; want a floating-point type (qlab %q)", t.Name, t.Shape, t.DType, r.Param))
			continue
		}
		for i, v := range t.Floats {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				problems = append(problems, fmt.Sprintf("tensor %q of shape %v holds %v at element %d", t.Name, t.Shape, v, i))
				break
			}
		}
		state[r.Param] = t.Floats
	}
	var missing []string
	for key, r := range want {
		if !seen[key] && r.Param != "" {
			missing = append(missing, fmt.Sprintf("missing tensor %q of shape %v (qlab %q)", key, r.Shape, r.Param))
		}
	}
	sort.Strings(missing)
	problems = append(problems, missing...)
	if len(problems) > 0 {
		const show = 12
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("\n  ... and %d more", len(problems)-show)
			problems = problems[:show]
		}
		return fmt.Errorf("%w %q:\n  %s%s", ErrMismatch, m.Name(), strings.Join(problems, "\n  "), more)
	}
	if err := m.LoadState(state); err != nil {
		return fmt.Errorf("torchio: %w", err)
	}
	return nil
}

// hint suggests the likely cause of an unknown key.
func hint(key string, want map[string]Mapping) string {
	if i := strings.IndexByte(key, '.'); i > 0 {
		if _, ok := want[key[i+1:]]; ok {
			return fmt.Sprintf("; with LoadOptions.Prefix %q it would be %q", key[:i+1], key[i+1:])
		}
	}
	return ""
}
