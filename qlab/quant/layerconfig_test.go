package quant

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestLayerRules(t *testing.T) {
	m := smallNet(t, true)
	calib := selfLabelled(t, m, 32, 3)
	ctx := context.Background()
	cfg := TFLiteInt8()
	cfg.Weights.Bits, cfg.Activations.Bits = 4, 4
	eight := TFLiteInt8()
	cfg.Layers = []LayerRule{
		{Kind: DepthwiseLayer, Config: &eight},
		{Pattern: "head/*", Float: true},
		{Kind: FirstLayer, Config: &eight},
		{Pattern: InputName, Config: &eight},
	}
	q, err := Quantize(ctx, m, calib, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	levels := func(p *QParams) int32 {
		if p == nil {
			return 0
		}
		return p.QMax - p.QMin + 1
	}
	for _, tc := range []struct {
		layer          string
		weight, output int32 // levels; 0: float or none
	}{
		{InputName, 0, 256},
		{"stem/conv", 255, 0},
		{"stem/conv/relu", 0, 256}, // fused: takes stem/conv's (first layer) scheme
		{"block1/dw", 255, 0},
		{"block1/dw/relu", 0, 256},
		{"block1/pw", 15, 0},
		{"block1/pw/relu", 0, 16},
		{"head/gap", 0, 0},
		{"head/fc", 0, 0},
	} {
		lq := q.Layer(tc.layer)
		if lq == nil {
			t.Fatalf("no record for %q", tc.layer)
		}
		if got := levels(lq.Weight); got != tc.weight {
			t.Errorf("%s: weight levels %d; want %d", tc.layer, got, tc.weight)
		}
		if got := levels(lq.Output); got != tc.output {
			t.Errorf("%s: output levels %d; want %d", tc.layer, got, tc.output)
		}
	}
	// The float head keeps its folded float weights.
	fm, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range fm.Param("head/fc/weight").Value.Data {
		if q.Net.Param("head/fc/weight").Value.Data[i] != v {
			t.Fatalf("float rule: head/fc weight %d changed", i)
		}
	}
	rows, err := cfg.Assign(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Layer == "block1/dw" && (r.Rule != 0 || r.Config.Weights.Bits != 8) {
			t.Errorf("Assign: block1/dw rule %d bits %d; want rule 0, 8 bits", r.Rule, r.Config.Weights.Bits)
		}
		if r.Layer == "block1/pw" && (r.Rule != -1 || strings.Join(r.Roles, ",") != "pointwise") {
			t.Errorf("Assign: block1/pw rule %d roles %v; want -1, [pointwise]", r.Rule, r.Roles)
		}
		if r.Layer == "head/fc" && (!r.Float || strings.Join(r.Roles, ",") != "dense,last") {
			t.Errorf("Assign: head/fc float %v roles %v; want float, [dense last]", r.Float, r.Roles)
		}
	}
	// The integer path reads the per-layer params: it refuses the float
	// head, naming it.
	if _, err := q.Integer(); err == nil || !strings.Contains(err.Error(), "kept in float by Config.Layers[1]") {
		t.Errorf("Integer with a float layer: %v; want an error naming the float rule", err)
	}
}

func TestLayerRulesJSONAndErrors(t *testing.T) {
	var c Config
	js := `{"Weights":{"Bits":4},"Layers":[{"kind":"depthwise","config":{"Weights":{"Bits":8}}},{"pattern":"head/*","float":true}]}`
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Layers) != 2 || c.Layers[0].Kind != DepthwiseLayer || !c.Layers[1].Float {
		t.Fatalf("decoded %+v", c.Layers)
	}
	b, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(b), `"kind":"depthwise"`) {
		t.Errorf("marshal: %s, %v", b, err)
	}
	// A config without rules marshals as before (sweep trial IDs hash it).
	if b, _ := json.Marshal(QUInt8()); strings.Contains(string(b), "Layers") {
		t.Errorf("rule-less config marshals Layers: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"Layers":[{"kind":"depthwize","float":true}]}`), &c); err == nil || !strings.Contains(err.Error(), "depthwize") {
		t.Errorf("unknown kind: %v", err)
	}
	m := smallNet(t, true)
	eight := TFLiteInt8()
	nested := eight
	nested.Layers = []LayerRule{{Float: true}}
	for _, tc := range []struct {
		name string
		rule LayerRule
		want string
	}{
		{"both", LayerRule{Float: true, Config: &eight}, "exactly one"},
		{"neither", LayerRule{Pattern: "x"}, "exactly one"},
		{"bad pattern", LayerRule{Pattern: "[", Float: true}, "pattern"},
		{"no match", LayerRule{Pattern: "blok1/*", Float: true}, "blok1/*"},
		{"nested", LayerRule{Config: &nested}, "rules of its own"},
		{"bad bits", LayerRule{Config: &Config{Weights: TensorConfig{Bits: 1}}}, "Bits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := QUInt8()
			c.Layers = []LayerRule{tc.rule}
			_, err := Quantize(context.Background(), m, nil, Options{Config: c, Mode: WeightsOnly})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// Mixed bit widths up to 8 run in the integer path and agree with the
// fake-quantized model, as the model-wide schemes do
// (TestIntModelMatchesFakeQuant).
func TestLayerRulesInteger(t *testing.T) {
	m := smallNet(t, true)
	calib := selfLabelled(t, m, 64, 21)
	cfg := TFLiteInt8()
	cfg.Weights.Bits = 5
	six := TFLiteInt8()
	six.Weights.Bits, six.Activations.Bits = 8, 6
	cfg.Layers = []LayerRule{{Kind: DepthwiseLayer, Config: &six}, {Kind: LastLayer, Config: &Config{Weights: TFLiteInt8().Weights, Activations: TFLiteInt8().Activations, Biases: TFLiteInt8().Biases}}}
	q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if lq := q.Layer("block1/dw/relu"); lq.Output.QMax-lq.Output.QMin != 63 {
		t.Fatalf("depthwise output levels %d; want 64", lq.Output.QMax-lq.Output.QMin+1)
	}
	im, err := q.Integer()
	if err != nil {
		t.Fatal(err)
	}
	test := selfLabelled(t, m, 64, 22)
	got, err := im.Forward(test.Images)
	if err != nil {
		t.Fatal(err)
	}
	y, err := q.Forward(test.Images)
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.Layers[len(q.Layers)-1].Output.Quantize(y)
	if err != nil {
		t.Fatal(err)
	}
	sum, worst := 0, int32(0)
	for i := range want.Data {
		d := got.Data[i] - want.Data[i]
		d = max(d, -d)
		sum += int(d)
		worst = max(worst, d)
	}
	mean := float64(sum) / float64(len(want.Data))
	t.Logf("mixed 5/6/8-bit: logit codes mean |diff| %.3f LSB, max %d", mean, worst)
	if mean > 1 || worst > 6 {
		t.Errorf("integer and fake-quant logits disagree: mean %.3f LSB, max %d", mean, worst)
	}
	sixteen := TFLiteInt8()
	sixteen.Activations.Bits = 12
	cfg.Layers = []LayerRule{{Pattern: "block1/pw", Config: &sixteen}}
	cfg.Biases = TensorConfig{Float: true}
	if q, err = Quantize(context.Background(), m, calib, Options{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Integer(); err == nil || !strings.Contains(err.Error(), "12-bit activations") {
		t.Errorf("12-bit activations in the integer path: %v; want an error saying so", err)
	}
}

// TrainQAT keeps the per-layer schemes while it fine-tunes, with batch
// norm folded before or during training.
func TestLayerRulesQAT(t *testing.T) {
	m := smallNet(t, true)
	d := selfLabelled(t, m, 64, 3)
	cfg := TFLiteInt8()
	cfg.Weights.Bits, cfg.Activations.Bits = 4, 4
	eight := TFLiteInt8()
	cfg.Layers = []LayerRule{{Kind: DepthwiseLayer, Config: &eight}, {Pattern: "head/fc", Float: true}}
	for _, bnTrain := range []bool{false, true} {
		q, err := TrainQAT(context.Background(), m, d, QATOptions{Options: Options{Config: cfg, BatchSize: 32}, BNInTraining: bnTrain})
		if err != nil {
			t.Fatal(err)
		}
		for layer, want := range map[string][2]int32{"block1/dw": {254, 0}, "block1/dw/relu": {0, 255}, "block1/pw": {14, 0}, "block1/pw/relu": {0, 15}} { // weights: restricted range
			lq := q.Layer(layer)
			var w, o int32
			if lq.Weight != nil {
				w = lq.Weight.QMax - lq.Weight.QMin
			}
			if lq.Output != nil {
				o = lq.Output.QMax - lq.Output.QMin
			}
			if w != want[0] || o != want[1] {
				t.Errorf("BNInTraining %v: %s: weight span %d, output span %d; want %v", bnTrain, layer, w, o, want)
			}
		}
		if lq := q.Layer("head/fc"); lq.Weight != nil || lq.Output != nil {
			t.Errorf("BNInTraining %v: float head/fc quantized after QAT", bnTrain)
		}
		if !onGrid(q.Layer("block1/dw").Weight, q.Net.Param("block1/dw/weight").Value) {
			t.Errorf("BNInTraining %v: depthwise weights off their 8-bit grid after QAT", bnTrain)
		}
	}
}
