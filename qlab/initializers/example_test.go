package initializers_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

func Example() {
	// A conv layer 3->16 with 3x3 kernels, He normal as in Keras.
	w := tensor.New(16, 3, 3, 3)
	init := initializers.HeNormal()
	seed := initializers.SeedFor(42, "stem/conv/weight")
	if err := init.Fill(w, initializers.Conv, seed); err != nil {
		fmt.Println(err)
		return
	}
	fanIn, fanOut := initializers.Fans(w.Shape, initializers.Conv)
	fmt.Println(init, fanIn, fanOut)

	// Initializers print and parse, so sweeps can store them as text.
	in, err := initializers.Parse("random_uniform(0.1)")
	fmt.Println(in, in == initializers.RandomUniform(0.1), err)

	// Depthwise fans follow Keras unless the PyTorch rule is asked for.
	dw := []int{32, 1, 3, 3}
	fmt.Println(initializers.Fans(dw, initializers.Depthwise))
	fmt.Println(initializers.FansFor(dw, initializers.Depthwise, initializers.PyTorchFans))
	// Output:
	// he_normal 27 144
	// random_uniform(0.1) true <nil>
	// 288 9
	// 9 288 <nil>
}
