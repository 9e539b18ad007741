// Package notebook reads and writes Jupyter notebooks (nbformat 4) and runs
// them headless through the same jupyter.Evaluator the kernel serves.
//
// Reading accepts any valid nbformat 4 notebook (4.0 to 4.5) and keeps the
// fields it does not know, so a notebook round-trips without losing
// extensions' metadata; writing produces nbformat 4.5 (cell ids included)
// in the layout nbformat itself uses (sorted keys, one-space indent,
// multi-line strings as lists of lines), atomically.
//
// Run executes code cells in order the way nbclient does: consecutive
// stream outputs merge, update_display_data rewrites the outputs that carry
// its display_id, clear_output(wait) clears before the next output, and the
// first error stops the run with an error naming the notebook and the cell.
// InjectParameters overrides a cell tagged "parameters" papermill-style.
// The package knows nothing of sockets: kernel/jupyter does.
package notebook
