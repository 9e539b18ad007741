// Package interp runs notebook cells on the yaegi Go interpreter: it is the
// evaluation side of the qlab kernel, implementing kernel/jupyter's Evaluator
// (Execute, Complete, Inspect, IsComplete).
//
// Its boundary: it turns cell text into effects on an Output (streams,
// displays, input requests) and a result bundle; it knows nothing of Jupyter
// messages, sockets or notebooks.
//
// A cell may mix imports, declarations and statements in any order. Cells are
// cut into runs of imports, declarations and statements (see split) and each
// run is evaluated in order, because yaegi evaluates a source either as a
// file or as statements. State persists across cells; functions, variables,
// constants and types may be redefined by re-running a cell. Unused imports
// and unused variables are not errors.
//
// The value of a cell ending in an expression is its result, rendered with
// display rules (see Execute for which trailing expressions display).
//
// Output of interpreted and compiled code alike is captured at the
// file-descriptor level when Options.CaptureFD is set, and streamed to the
// cell's Output while it runs.
package interp
