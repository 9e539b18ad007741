// Command gencmd regenerates kernel/symbols: `go generate ./kernel/symbols`
// runs it in that directory. Arguments, when given, are the only packages
// to re-extract (for example qlab/nn); the doc table is always rebuilt.
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/qlab-dev/qlab/kernel/symbols/internal/gen"
)

func main() {
	r, err := gen.Generate(os.Args[1:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var failed []string
	for p, err := range r.Failed {
		failed = append(failed, fmt.Sprintf("gencmd: skipped %s: %v", p, err))
	}
	sort.Strings(failed)
	for _, f := range failed {
		fmt.Fprintln(os.Stderr, f)
	}
	if err := r.Write("."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
