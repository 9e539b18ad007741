package sweep_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/qlab-dev/qlab/qlab/sweep"
)

// A sweep spec as a notebook or a YAML file gives it; Trials expands the
// grid (architecture-major, then initializer, then seed).
func ExampleParseSpec() {
	spec, err := sweep.ParseSpec([]byte(`
name: init-ablation
architectures: [refnet-s, refnet-dws]
initializers: [he_normal, glorot_uniform, random_uniform(0.05)]
seeds: [0, 1]
quant: [quint8, tflite_int8]
train: {epochs: 20, batch_size: 64, optimizer: {kind: sgd, lr: 0.01, momentum: 0.9}}
data: {dataset: cifar10, dir: /data/cifar-10-batches-bin}
results_dir: results/init-ablation
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	trials, err := spec.Trials()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(trials), "trials")
	for _, t := range trials[:3] {
		fmt.Println(t.Index, t.Arch, t.Init, t.Seed, len(t.Quant), "configs")
	}
	// Output:
	// 12 trials
	// 0 refnet-s he_normal 0 2 configs
	// 1 refnet-s he_normal 1 2 configs
	// 2 refnet-s glorot_uniform 0 2 configs
}

// Errors name the axis value that is wrong.
func ExampleSpec_Trials_error() {
	spec := &sweep.Spec{
		Architectures: []sweep.Architecture{sweep.Preset("refnet-s")},
		Initializers:  []string{"he_normal", "kaiming_fancy"},
		Seeds:         []uint64{0},
	}
	_, err := spec.Trials()
	// The message goes on with package initializers' reason and the known
	// scheme names.
	msg, _, _ := strings.Cut(err.Error(), ": initializers:")
	fmt.Println(errors.Is(err, sweep.ErrSpec), msg)
	// Output:
	// true sweep: bad spec: initializer "kaiming_fancy"
}
