package quant_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/quant"
)

// Method combinations for Options.PTQ (and the sweep's PTQ axis) are
// written as names joined by "+".
func ExampleParsePTQ() {
	p, err := quant.ParsePTQ("cle+bc")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Equalize, p.BiasCorrection, p)
	p, _ = quant.ParsePTQ("bn+adaround(200)")
	fmt.Println(p.ReestimateBN, p.AdaRound, p.AdaRoundOptions.Iterations)
	// Output:
	// true empirical cle+bc
	// -1 true 200
}

// "All layers at 4 bits except the depthwise ones at 8, and the
// classifier in float": the last rule that matches a layer decides.
func ExampleLayerRule() {
	cfg := quant.TFLiteInt8()
	cfg.Weights.Bits = 4
	eight := quant.TFLiteInt8()
	cfg.Layers = []quant.LayerRule{
		{Kind: quant.DepthwiseLayer, Config: &eight},
		{Pattern: "head/*", Float: true},
	}
	fmt.Println(cfg.Validate())
	for _, r := range cfg.Layers {
		fmt.Println(r)
	}
	// Output:
	// <nil>
	// depthwise → w8 per-channel a8
	// head/* → float
}
