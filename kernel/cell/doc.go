// Package cell is what a running notebook cell can ask of the kernel: its
// context, cancelled when the user interrupts the kernel, and input typed by
// the user in the frontend.
//
// Notebook code passes cell.Context() to long compiled calls so that an
// interrupt stops them (train.Fit(cell.Context(), ...)). Outside a kernel,
// Context is context.Background() and Input reads a line from standard input,
// so the same code runs in tests and programs.
//
// Its boundary: the interpreter binds the running cell with Bind; this package
// knows nothing of Jupyter messages.
package cell
