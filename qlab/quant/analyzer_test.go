package quant

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestAnalyze(t *testing.T) {
	m := smallNet(t, true)
	unbalance(m, 7)
	calib := selfLabelled(t, m, 64, 3)
	test := selfLabelled(t, m, 128, 4)
	ctx := context.Background()
	opt := Options{Config: fourBit()}
	a, err := Analyze(ctx, m, calib, test, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + a.String())
	var names []string
	for _, r := range a.Layers {
		names = append(names, r.Layer)
	}
	if got, want := strings.Join(names, " "), "input stem/conv block1/dw block1/pw head/gap head/fc"; got != want {
		t.Fatalf("units %q; want %q", got, want)
	}
	if a.FloatAccuracy != 1 {
		t.Errorf("float accuracy %v on self-labelled data; want 1", a.FloatAccuracy)
	}
	// Independent paths: Options.Float lists layers kept in float.
	acc := func(float []string) float64 {
		o := opt
		o.Float = float
		q, err := Quantize(ctx, m, calib, o)
		if err != nil {
			t.Fatal(err)
		}
		_, v, _, err := score(ctx, q, test, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var all []string
	for _, l := range m.Layers() {
		if l.Name() != "block1/dw" && l.Name() != "block1/dw/relu" {
			all = append(all, l.Name())
		}
	}
	for _, r := range a.Layers {
		switch r.Layer {
		case "block1/dw":
			// Only the depthwise (and its fused ReLU): the input is float
			// when every other layer is; Options.Float cannot express a
			// float input, so compare against the input-float config.
			o := opt
			o.Float = all
			o.Config.Layers = []LayerRule{{Pattern: InputName, Float: true}}
			q, err := Quantize(ctx, m, calib, o)
			if err != nil {
				t.Fatal(err)
			}
			_, want, _, _ := score(ctx, q, test, 64)
			if r.OnlyThis != want {
				t.Errorf("block1/dw only: %v; want %v", r.OnlyThis, want)
			}
			if r.Output != "block1/dw/relu" {
				t.Errorf("block1/dw output point %q; want its fused ReLU", r.Output)
			}
		case "head/fc":
			if want := acc([]string{"head/fc"}); r.AllButThis != want {
				t.Errorf("head/fc all but: %v; want %v", r.AllButThis, want)
			}
		}
		hasW := r.Layer != InputName && r.Layer != "head/gap"
		if hasW != !math.IsNaN(r.WeightSQNR) || hasW != (r.WeightHist != nil) {
			t.Errorf("%s: weight SQNR %v, hist %v; want present iff the layer has weights", r.Layer, r.WeightSQNR, r.WeightHist != nil)
		}
		if r.WeightHist != nil {
			var n int64
			for _, c := range r.WeightHist.Counts {
				n += c
			}
			w, _ := weightOf(m.Layer(r.Layer))
			if int(n) != w.Value.Len() {
				t.Errorf("%s: weight histogram holds %d values; want %d", r.Layer, n, w.Value.Len())
			}
		}
		if math.IsNaN(r.OutputMin) || r.OutputHist == nil || math.IsNaN(r.OutputSQNR) {
			t.Errorf("%s: output range [%v, %v], SQNR %v; want all present", r.Layer, r.OutputMin, r.OutputMax, r.OutputSQNR)
		}
	}
}
