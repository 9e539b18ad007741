package torchio_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/torchio"
)

// A network trained in PyTorch with the reference definition loads into
// the qlab spec of the same architecture, and saves back.
func Example() {
	m, _ := arch.RefNetDWS().Build()
	// A checkpoint trained by reference/qlab_models.py on MNIST (1x28x28).
	mnist := arch.RefNetDWS()
	mnist.Input = []int{1, 28, 28}
	trained, _ := mnist.Build()
	if err := torchio.Load(trained, "reference/refnet_dws_mnist.pt"); err != nil {
		fmt.Println(err)
		return
	}
	path := filepath.Join(os.TempDir(), "refnet_dws.safetensors")
	defer os.Remove(path)
	if err := torchio.Save(trained, path); err != nil {
		fmt.Println(err)
		return
	}
	back, _ := mnist.Build()
	_ = torchio.Load(back, path)
	fmt.Println("round trip identical:", reflect.DeepEqual(back.State(), trained.State()))

	// A CIFAR-shaped RefNet-DWS cannot take the MNIST weights: the error
	// names the tensor, its shape and the expected one.
	err := torchio.Load(m, "reference/refnet_dws_mnist.pt")
	fmt.Println(err != nil)
	// Output:
	// round trip identical: true
	// true
}

// The name mapping of a model: state_dict key, qlab parameter, shape.
func ExampleNamesTable() {
	m, _ := arch.VGGSpec{Input: []int{1, 8, 8}, Stages: [][]int{{4}}, BatchNorm: true}.Build()
	fmt.Print(torchio.NamesTable(m))
	// Output:
	// stem.conv.weight                  <-  stem/conv/weight                     [4 1 3 3]
	// stem.conv_bn.weight               <-  stem/conv/bn/gamma                   [4]
	// stem.conv_bn.bias                 <-  stem/conv/bn/beta                    [4]
	// stem.conv_bn.running_mean         <-  stem/conv/bn/running_mean            [4]
	// stem.conv_bn.running_var          <-  stem/conv/bn/running_var             [4]
	// stem.conv_bn.num_batches_tracked  <-  (not kept: int64 counter)            []
	// head.fc.weight                    <-  head/fc/weight                       [10 4]
	// head.fc.bias                      <-  head/fc/bias                         [10]
}
