// The printed accuracies are those of the SIMD kernels (amd64 with AVX-512
// or AVX2): the portable kernels of the purego build sum in another order,
// so training ends elsewhere and this output would not match.

//go:build !purego

package qlab_test

import (
	"context"
	"fmt"
	"log"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/train"
)

// The study in miniature, as the README shows it: one VGG-like network per
// initializer, trained on a slice of the embedded MNIST, then quantized with
// the papers' quint8 scheme.
func Example() {
	ctx := context.Background()
	trainSet, testSet, err := data.MNIST()
	if err != nil {
		log.Fatal(err)
	}
	trainSet, testSet = trainSet.Subset(10000), testSet.Subset(1000)

	for _, init := range []initializers.Initializer{initializers.HeNormal(), initializers.RandomUniform(0.05)} {
		spec := arch.VGGSpec{
			Input:     []int{1, 28, 28},
			Stages:    [][]int{{8}, {16}, {32}},
			BatchNorm: true,
			Init:      init,
			Seed:      1,
		}
		model, err := spec.Build()
		if err != nil {
			log.Fatal(err)
		}
		if _, err := train.Fit(ctx, model, trainSet, testSet, train.Config{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: train.SGD(0.05, 0.9)}); err != nil {
			log.Fatal(err)
		}
		report, err := quant.Evaluate(ctx, model, trainSet.Subset(256), testSet, quant.Options{Config: quant.QUInt8()})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-20s fp32 %.1f%%  int8 %.1f%%\n", init, 100*report.FloatAccuracy, 100*report.QuantAccuracy)
	}
	// Output:
	// he_normal            fp32 91.0%  int8 91.2%
	// random_uniform(0.05) fp32 85.4%  int8 85.0%
}
