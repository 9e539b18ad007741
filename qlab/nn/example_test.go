package nn_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// A small CNN: build, initialize, one training step's gradients, and the
// per-layer summary.
func Example() {
	conv, _ := nn.NewConv2D("conv", nn.Conv2DConfig{In: 1, Out: 4, Kernel: 3})
	bn, _ := nn.NewBatchNorm2D("bn", nn.BatchNormConfig{Channels: 4})
	relu, _ := nn.NewReLU("relu")
	pool, _ := nn.NewMaxPool2D("pool", 2, 2)
	gap, _ := nn.NewGlobalAvgPool("gap")
	fc, _ := nn.NewDense("fc", 4, 3, true)
	model, err := nn.NewModel("tiny", []int{1, 8, 8}, conv, bn, relu, pool, gap, fc)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := model.Initialize(initializers.HeNormal(), 1); err != nil {
		fmt.Println(err)
		return
	}

	x := tensor.New(2, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	var loss nn.SoftmaxCrossEntropy
	model.ZeroGrad()
	logits, _ := model.Forward(x)
	if _, err := loss.Forward(logits, []int{0, 2}); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := model.Backward(loss.Backward()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logits shape:", logits.Shape)
	fmt.Println("conv weight grad shape:", model.Param("conv/weight").Grad.Shape)
	fmt.Print(model.Summary())
	// Output:
	// logits shape: [2 3]
	// conv weight grad shape: [4 1 3 3]
	// model tiny, input (1, 8, 8), FLOPs per sample
	// layer  kind           output       params  FLOPs
	// conv   Conv2D         (4, 8, 8)        36   4608
	// bn     BatchNorm2D    (4, 8, 8)         8    512
	// relu   ReLU           (4, 8, 8)         0    256
	// pool   MaxPool2D      (4, 4, 4)         0    256
	// gap    GlobalAvgPool  (4)               0     64
	// fc     Dense          (3)              15     24
	// total                                  59   5720
}
