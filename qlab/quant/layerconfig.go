package quant

import (
	"fmt"
	"path"
	"strings"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// LayerKind selects layers by their role, for LayerRule.
type LayerKind int

const (
	// AnyLayer matches every layer (the zero value).
	AnyLayer LayerKind = iota
	// ConvLayer matches Conv2D layers with a kernel larger than 1x1.
	ConvLayer
	// PointwiseLayer matches 1x1 Conv2D layers.
	PointwiseLayer
	// DepthwiseLayer matches DepthwiseConv2D layers.
	DepthwiseLayer
	// DenseLayer matches Dense layers.
	DenseLayer
	// FirstLayer matches the first layer with weights, in forward order.
	FirstLayer
	// LastLayer matches the last layer with weights, in forward order.
	LastLayer
)

var layerKindNames = [...]string{"any", "conv", "pointwise", "depthwise", "dense", "first", "last"}

// String returns the kind's short name ("depthwise", ...).
func (k LayerKind) String() string {
	if k >= 0 && int(k) < len(layerKindNames) {
		return layerKindNames[k]
	}
	return fmt.Sprintf("LayerKind(%d)", int(k))
}

// MarshalText writes the short name, so specs read "kind": "depthwise".
func (k LayerKind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(layerKindNames) {
		return nil, fmt.Errorf("%w: unknown layer kind %d", ErrConfig, int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a short name ("" is AnyLayer).
func (k *LayerKind) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	if s == "" {
		*k = AnyLayer
		return nil
	}
	for i, n := range layerKindNames {
		if n == s {
			*k = LayerKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown layer kind %q (known: %s)", ErrConfig, s, strings.Join(layerKindNames[:], ", "))
}

// LayerRule gives the layers it matches their own scheme, or keeps them in
// float. A layer matches when its name matches Pattern and its role matches
// Kind. What a layer's config governs: its weights and biases, and its
// output activation point — for a layer fused with a following ReLU/ReLU6
// that is the activation's output, so a rule for "depthwise" covers the
// depthwise convolution's weights and the quantized output after its ReLU.
// The model input point follows the rules that match the name InputName.
type LayerRule struct {
	// Pattern is a path.Match glob on the layer name ("block2/*",
	// "stage1/dw*"); "" matches every name. A pattern that matches no
	// layer of the model is an error (a typo would otherwise go unseen).
	Pattern string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	// Kind restricts the rule to a role; AnyLayer (zero) matches all.
	Kind LayerKind `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Float keeps the matched layers' weights, biases and outputs in
	// float32.
	Float bool `json:"float,omitempty" yaml:"float,omitempty"`
	// Config is the matched layers' scheme (Weights, Activations, Biases;
	// its NoFoldBN and Layers must be zero: folding is model-wide). Exactly
	// one of Float and Config is set.
	Config *Config `json:"config,omitempty" yaml:"config,omitempty"`
}

func (r LayerRule) validate() error {
	if r.Pattern != "" {
		if _, err := path.Match(r.Pattern, ""); err != nil {
			return fmt.Errorf("%w: pattern %q: %v", ErrConfig, r.Pattern, err)
		}
	}
	if r.Kind < AnyLayer || r.Kind > LastLayer {
		return fmt.Errorf("%w: unknown layer kind %d", ErrConfig, int(r.Kind))
	}
	switch {
	case r.Float == (r.Config != nil):
		return fmt.Errorf("%w: a layer rule sets exactly one of Float and Config", ErrConfig)
	case r.Config != nil && len(r.Config.Layers) > 0:
		return fmt.Errorf("%w: a layer rule's Config has rules of its own", ErrConfig)
	case r.Config != nil && r.Config.NoFoldBN:
		return fmt.Errorf("%w: NoFoldBN in a layer rule (folding is model-wide)", ErrConfig)
	case r.Config != nil:
		if err := r.Config.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// String describes the rule, e.g. "depthwise block*/dw → float".
func (r LayerRule) String() string {
	var who []string
	if r.Kind != AnyLayer {
		who = append(who, r.Kind.String())
	}
	if r.Pattern != "" {
		who = append(who, r.Pattern)
	}
	if len(who) == 0 {
		who = append(who, "all")
	}
	return strings.Join(who, " ") + " → " + schemeString(r.Float, r.Config)
}

// schemeString summarises a scheme in a few words ("w4 per-channel a8").
func schemeString(float bool, c *Config) string {
	if float || c == nil {
		return "float"
	}
	t := func(prefix string, tc TensorConfig) string {
		if tc.Float {
			return prefix + "float"
		}
		s := fmt.Sprintf("%s%d", prefix, tc.bits())
		if tc.PerChannel {
			s += " per-channel"
		}
		if tc.Calibrator.Method != MinMax {
			s += " " + tc.Calibrator.Method.String()
		}
		return s
	}
	return t("w", c.Weights) + " " + t("a", c.Activations)
}

// LayerAssignment is the scheme one layer (or the input) gets from a
// Config and its rules.
type LayerAssignment struct {
	// Layer and Kind name the layer (InputName and "Input" for the input).
	Layer, Kind string
	// Roles lists the LayerKinds the layer has ("depthwise", "first", ...).
	Roles []string
	// Rule is the index in Config.Layers of the rule that decided (the
	// last one that matches), or -1 for the default scheme.
	Rule int
	// Float reports that the layer stays in float32.
	Float bool
	// Config is the scheme of the layer (the model-wide one, or the
	// rule's with the model-wide NoFoldBN).
	Config Config
}

// layerConfigs is a Config's rules resolved against one model.
type layerConfigs struct {
	base   Config
	rules  []LayerRule
	rows   []LayerAssignment
	byName map[string]int
	// owner maps an activation fused with the layer before it to that
	// layer: the point takes its producer's scheme.
	owner map[string]string
}

// Assign resolves c's rules against m (folded or not: batch norms never
// carry a scheme of their own) and returns, for the input and every leaf
// layer in forward order, the scheme it gets. It fails on an invalid config
// or a Pattern that matches no layer name of m.
func (c Config) Assign(m *nn.Model) ([]LayerAssignment, error) {
	lc, err := c.resolve(m)
	if err != nil {
		return nil, err
	}
	return lc.rows, nil
}

func (c Config) resolve(m *nn.Model) (*layerConfigs, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lc := &layerConfigs{base: c, byName: map[string]int{}, owner: map[string]string{}}
	lc.base.Layers = nil
	lc.rules = c.Layers
	leaves := m.Layers()
	first, last := -1, -1
	for i, l := range leaves {
		if w, _ := weightOf(l); w != nil {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	lc.add(InputName, "Input", nil)
	for i, l := range leaves {
		var roles []LayerKind
		switch t := l.(type) {
		case *nn.Conv2D:
			if t.Config().Kernel == 1 {
				roles = append(roles, PointwiseLayer)
			} else {
				roles = append(roles, ConvLayer)
			}
		case *nn.DepthwiseConv2D:
			roles = append(roles, DepthwiseLayer)
		case *nn.Dense:
			roles = append(roles, DenseLayer)
		}
		if i == first {
			roles = append(roles, FirstLayer)
		}
		if i == last {
			roles = append(roles, LastLayer)
		}
		lc.add(l.Name(), l.Kind(), roles)
	}
	lc.fused(m.TopLayers())
	for ri, r := range c.Layers {
		if r.Pattern != "" {
			hit := false
			for _, row := range lc.rows {
				if ok, _ := path.Match(r.Pattern, row.Layer); ok {
					hit = true
					break
				}
			}
			if !hit {
				return nil, fmt.Errorf("%w: Layers[%d] pattern %q matches no layer of model %q", ErrConfig, ri, r.Pattern, m.Name())
			}
		}
	}
	for i := range lc.rows {
		row := &lc.rows[i]
		src := row
		if o, ok := lc.owner[row.Layer]; ok {
			src = &lc.rows[lc.byName[o]]
		}
		rule := -1
		for ri, r := range c.Layers {
			if r.matches(src.Layer, src.Roles) {
				rule = ri
			}
		}
		row.Rule = rule
		row.Config = lc.base
		if rule >= 0 {
			r := c.Layers[rule]
			row.Float = r.Float
			if r.Config != nil {
				row.Config = *r.Config
				row.Config.NoFoldBN = c.NoFoldBN
			}
		}
	}
	return lc, nil
}

func (r LayerRule) matches(name string, roles []string) bool {
	if r.Pattern != "" {
		if ok, _ := path.Match(r.Pattern, name); !ok {
			return false
		}
	}
	if r.Kind == AnyLayer {
		return name != InputName || r.Pattern != ""
	}
	for _, k := range roles {
		if k == r.Kind.String() {
			return true
		}
	}
	return false
}

func (lc *layerConfigs) add(name, kind string, roles []LayerKind) {
	row := LayerAssignment{Layer: name, Kind: kind, Rule: -1}
	for _, k := range roles {
		row.Roles = append(row.Roles, k.String())
	}
	lc.byName[name] = len(lc.rows)
	lc.rows = append(lc.rows, row)
}

// fused records the activations fused with the layer before them, with
// the placement Quantize uses.
func (lc *layerConfigs) fused(list []nn.Layer) {
	for i, l := range list {
		switch t := l.(type) {
		case *nn.Sequential:
			lc.fused(t.Children())
			continue
		case *nn.Residual:
			lc.fused(t.Body())
			lc.fused(t.Shortcut())
			if i+1 < len(list) && isActivation(list[i+1]) {
				lc.owner[list[i+1].Name()] = t.AddLayer().Name()
			}
			continue
		}
		if i+1 < len(list) && isActivation(list[i+1]) && fusable(l) {
			lc.owner[list[i+1].Name()] = l.Name()
		}
	}
}

// of returns the scheme and float flag of a layer (the base scheme for a
// name it does not know).
func (lc *layerConfigs) of(name string) (Config, bool) {
	if lc == nil {
		return Config{}, false
	}
	if i, ok := lc.byName[name]; ok {
		return lc.rows[i].Config, lc.rows[i].Float
	}
	return lc.base, false
}

// floats returns the layers kept in float by a rule.
func (lc *layerConfigs) floats() []string {
	var out []string
	for _, r := range lc.rows {
		if r.Float && r.Layer != InputName {
			out = append(out, r.Layer)
		}
	}
	return out
}

// config returns the scheme of a layer of q (per Config.Layers).
func (q *Model) config(layer string) Config {
	if q.layerCfg == nil {
		return q.Options.Config
	}
	c, _ := q.layerCfg.of(layer)
	return c
}

// actConfig returns the activation scheme of a quantization point.
func (q *Model) actConfig(point string) TensorConfig {
	return q.config(point).Activations
}

// anyActs reports whether any point of p (or the input) quantizes its
// activations.
func (q *Model) anyActs(p *plan) bool {
	if !q.actConfig(InputName).Float {
		return true
	}
	for name := range p.point {
		if !q.actConfig(name).Float {
			return true
		}
	}
	return false
}

// quantized reports whether the activation point name has params.
func (q *Model) quantized(point string) bool {
	if point == InputName {
		return q.input != nil
	}
	return q.acts[point] != nil
}

// checkInteger reports, naming the layer and the rule, a per-layer scheme
// the integer engine cannot run: it has no float fallback between integer
// layers (a float layer would need a dequantize/quantize pair the engine
// does not model) and stores codes in 8 bits (Bits up to 8 run: narrower
// codes are held in the same uint8/int8 storage, so mixed 4/6/8-bit
// layers execute exactly as fake-quantized).
func (q *Model) checkInteger() error {
	if q.layerCfg == nil {
		return nil
	}
	for _, r := range q.layerCfg.rows {
		rule := "the model-wide config"
		if r.Rule >= 0 {
			rule = fmt.Sprintf("Config.Layers[%d] (%s)", r.Rule, q.layerCfg.rules[r.Rule])
		}
		switch {
		case r.Float:
			return fmt.Errorf("quant: integer model: layer %q is kept in float by %s; the integer path has no float fallback", r.Layer, rule)
		case r.Config.Weights.bits() > 8 && !r.Config.Weights.Float && len(r.Roles) > 0:
			return fmt.Errorf("quant: integer model: layer %q has %d-bit weights by %s; the integer path stores 8-bit codes", r.Layer, r.Config.Weights.bits(), rule)
		case r.Config.Activations.bits() > 8 && !r.Config.Activations.Float && q.quantized(r.Layer):
			return fmt.Errorf("quant: integer model: layer %q has %d-bit activations by %s; the integer path stores 8-bit codes", r.Layer, r.Config.Activations.bits(), rule)
		}
	}
	return nil
}

// anyRule reports whether pred holds for the Config of any rule of c.
func anyRule(c Config, pred func(Config) bool) bool {
	for _, r := range c.Layers {
		if r.Config != nil && pred(*r.Config) {
			return true
		}
	}
	return false
}

// weightConfig returns the weight scheme of a layer of q, Float for a
// layer a rule keeps in float.
func (q *Model) weightConfig(layer string) TensorConfig {
	if q.layerCfg != nil {
		if c, float := q.layerCfg.of(layer); float {
			return TensorConfig{Float: true}
		} else {
			return c.Weights
		}
	}
	return q.Options.Config.Weights
}
