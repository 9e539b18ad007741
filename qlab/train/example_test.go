package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// stripes returns n 1x8x8 images: class 0 has a bright top half, class 1 a
// bright bottom half.
func stripes(n int, seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 0))
	img := tensor.New(n, 1, 8, 8)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(2)
		for p := 0; p < 64; p++ {
			v := 0.5 * r.Float32()
			if (p < 32) == (labels[i] == 0) {
				v += 1
			}
			img.Data[i*64+p] = v
		}
	}
	ds, _ := data.NewDataset("stripes", img, labels, []string{"top", "bottom"})
	return ds
}

func ExampleFit() {
	model, err := arch.VGGSpec{Input: []int{1, 8, 8}, Classes: 2, Stages: [][]int{{4}, {8}}, BatchNorm: true}.Build()
	if err != nil {
		panic(err)
	}
	cfg := train.Config{Epochs: 3, BatchSize: 16, Seed: 1} // SGD lr 0.01, momentum 0.9
	hist, err := train.Fit(context.Background(), model, stripes(256, 1), stripes(64, 2), cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println("epochs:", len(hist.Records))
	fmt.Println("test accuracy above 90%:", hist.Last().TestAccuracy > 0.9)
	// Output:
	// epochs: 3
	// test accuracy above 90%: true
}
