package notebook_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/kernel/notebook"
)

// InjectParameters adds a cell after the one tagged "parameters", quoting
// values of string parameters, as papermill does.
func ExampleInjectParameters() {
	nb := &notebook.Notebook{NBFormat: 4, NBFormatMinor: 5, Cells: []*notebook.Cell{{
		Type:     notebook.Code,
		Source:   "epochs := 3\ndataset := \"mnist\"",
		Metadata: map[string]any{"tags": []any{"parameters"}},
	}}}
	err := notebook.InjectParameters(nb, map[string]string{"epochs": "200", "dataset": "cifar10"})
	fmt.Println(err, nb.Cells[1].Tags())
	fmt.Println(nb.Cells[1].Source)
	// Output:
	// <nil> [injected-parameters]
	// // Parameters
	// dataset = "cifar10"
	// epochs = 200
}
