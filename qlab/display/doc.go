// Package display is the notebook display API qlab and its kernel share: MIME bundles
// (Data) and the helpers that build them (HTML, Markdown, PNG, SVG, JSON, Math,
// Auto, ...), publishing of bundles while a cell runs (Display, Handle, Clear),
// and an in-place updating ProgressBar.
//
// Its boundary: it is a leaf that the library (qlab/train, qlab/sweep) and the
// kernel both import; it knows nothing of Jupyter messages, sockets or the
// interpreter (an interpreter that wraps values installs SetUnwrapper). The kernel's
// interpreter installs a publisher with SetPublisher while a cell runs; the
// protocol side turns the published bundles into display_data and
// update_display_data messages. Outside a kernel (no publisher), Display writes
// the text/plain form to standard output and ProgressBar draws a
// carriage-return text bar on standard error, so library code (qlab's trainer)
// can use it unconditionally.
//
// Values render themselves without importing the kernel by implementing one of
// the one-method interfaces PNGer, SVGer, HTMLer, Markdowner, JPEGer, LaTeXer,
// JSONer or Renderer (the names gophernotes users know).
package display
