package nn

import (
	"fmt"
	"testing"
)

// refNetS builds RefNet-S as /work/shared/DESIGN.md defines it: three
// stages of conv3x3+BN+ReLU (32, 32 | 64, 64 | 128), max pool 2 after each,
// global average pool, dense 128->10. dws swaps every conv after the first
// for depthwise3x3+BN+ReLU then pointwise1x1+BN+ReLU (RefNet-DWS).
func refNetS(t testing.TB, dws bool) *Model {
	t.Helper()
	var layers []Layer
	add := func(l Layer, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	in := 3
	convBNReLU := func(name string, out int, first bool) {
		if dws && !first {
			add(NewDepthwiseConv2D(name+"/dw", DepthwiseConfig{Channels: in, Kernel: 3}))
			add(NewBatchNorm2D(name+"/dw_bn", BatchNormConfig{Channels: in}))
			add(NewReLU(name + "/dw_relu"))
			add(NewPointwise(name+"/pw", in, out, false))
			add(NewBatchNorm2D(name+"/pw_bn", BatchNormConfig{Channels: out}))
			add(NewReLU(name + "/pw_relu"))
		} else {
			add(NewConv2D(name+"/conv", Conv2DConfig{In: in, Out: out, Kernel: 3}))
			add(NewBatchNorm2D(name+"/bn", BatchNormConfig{Channels: out}))
			add(NewReLU(name + "/relu"))
		}
		in = out
	}
	for i, stage := range [][]int{{32, 32}, {64, 64}, {128}} {
		for j, w := range stage {
			convBNReLU(fmt.Sprintf("s%d_%d", i+1, j+1), w, i == 0 && j == 0)
		}
		add(NewMaxPool2D(fmt.Sprintf("pool%d", i+1), 2, 2))
	}
	add(NewGlobalAvgPool("gap"))
	add(NewDense("fc", 128, 10, true))
	m, err := NewModel("refnet", []int{3, 32, 32}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
