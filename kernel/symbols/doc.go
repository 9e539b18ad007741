// Package symbols holds the yaegi symbol tables of the compiled packages a
// notebook cell can import: every qlab package (qlab/..., internal ones
// excluded), gonum/plot and its vg backends, gonum's stat, mat and floats,
// qlab/display and kernel/cell; and the doc comments of qlab's and the plot
// packages' exported symbols, for inspection (shift-tab) in the notebook.
//
// The tables are generated: `go generate ./kernel/symbols` discovers the qlab
// packages with `go list` and runs yaegi's extractor on each (the same code as
// `yaegi extract`, through its library so that the list need not be spelled
// out in //go:generate lines). The extractor type-checks every package and
// its dependencies from source, which takes minutes on a loaded machine; to
// refresh only some tables, run `go run ./internal/gencmd qlab/nn qlab/train`
// in this directory. TestTablesCurrent fails, naming the package, when a
// committed table's names differ from the package's exported names;
// TestTablesRegenerate (QLAB_SYMBOLS_REGEN=1) compares whole files.
//
// The standard library tables are yaegi's own (github.com/traefik/yaegi/stdlib);
// Exports merges them with these. qlab packages are also importable by a
// short path: "qlab/nn" is the same package as
// "github.com/qlab-dev/qlab/qlab/nn".
package symbols

//go:generate go run ./internal/gencmd
