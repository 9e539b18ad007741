package arch_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/initializers"
)

func ExampleRefNetS() {
	spec := arch.RefNetS()
	spec.Init = initializers.HeNormal()
	spec.Seed = 1
	m, err := arch.Build(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(m.Summary())
	// Output:
	// model refnet-s, input (3, 32, 32), FLOPs per sample
	// layer             kind           output          params     FLOPs
	// stem/conv         Conv2D         (32, 32, 32)       864   1769472
	// stem/conv/bn      BatchNorm2D    (32, 32, 32)        64     65536
	// stem/conv/relu    ReLU           (32, 32, 32)         0     32768
	// block1/conv       Conv2D         (32, 32, 32)      9216  18874368
	// block1/conv/bn    BatchNorm2D    (32, 32, 32)        64     65536
	// block1/conv/relu  ReLU           (32, 32, 32)         0     32768
	// pool1             MaxPool2D      (32, 16, 16)         0     32768
	// block2/conv       Conv2D         (64, 16, 16)     18432   9437184
	// block2/conv/bn    BatchNorm2D    (64, 16, 16)       128     32768
	// block2/conv/relu  ReLU           (64, 16, 16)         0     16384
	// block3/conv       Conv2D         (64, 16, 16)     36864  18874368
	// block3/conv/bn    BatchNorm2D    (64, 16, 16)       128     32768
	// block3/conv/relu  ReLU           (64, 16, 16)         0     16384
	// pool2             MaxPool2D      (64, 8, 8)           0     16384
	// block4/conv       Conv2D         (128, 8, 8)      73728   9437184
	// block4/conv/bn    BatchNorm2D    (128, 8, 8)        256     16384
	// block4/conv/relu  ReLU           (128, 8, 8)          0      8192
	// pool3             MaxPool2D      (128, 4, 4)          0      8192
	// head/gap          GlobalAvgPool  (128)                0      2048
	// head/fc           Dense          (10)              1290      2560
	// total                                            141034  58774016
}

func ExampleVGGSpec() {
	// A depthwise-separable VGG-like net for MNIST, without batch norm.
	spec := arch.VGGSpec{
		Input:  []int{1, 28, 28},
		Stages: [][]int{{16}, {32, 32}},
		Block:  arch.DepthwiseSeparable,
		Init:   initializers.GlorotNormal(),
	}
	m, err := arch.Build(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range m.Layers() {
		fmt.Println(l.Name(), l.Kind())
	}
	// Output:
	// stem/conv Conv2D
	// stem/conv/relu ReLU
	// pool1 MaxPool2D
	// block1/dw DepthwiseConv2D
	// block1/dw/relu ReLU
	// block1/pw Conv2D
	// block1/pw/relu ReLU
	// block2/dw DepthwiseConv2D
	// block2/dw/relu ReLU
	// block2/pw Conv2D
	// block2/pw/relu ReLU
	// pool2 MaxPool2D
	// head/gap GlobalAvgPool
	// head/fc Dense
}
