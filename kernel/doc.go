// Package kernel is qlab's Jupyter kernel for Go; this file only documents
// how its packages divide the work.
//
//   - kernel/jupyter: the Jupyter messaging protocol 5.3 — connection files,
//     wire format and HMAC signing, the shell/control/stdin/IOPub/heartbeat
//     sockets on pure-Go zmq4, dispatch, execution counts, history,
//     interrupts. It defines the Evaluator and Output interfaces and knows
//     nothing of Go evaluation.
//   - kernel/interp: the Evaluator — cells on the yaegi interpreter, output
//     capture, completion, inspection.
//   - qlab/display (outside kernel/, so the library can import it): MIME bundles and the display API notebook code calls.
//   - kernel/cell: what a running cell can ask of the kernel (its context,
//     input).
//   - kernel/symbols: generated yaegi symbol tables of the packages cells
//     may import.
//   - kernel/notebook: nbformat 4 documents and the headless runner.
//   - kernel/cmd/qlab-kernel: the command — install the kernelspec, serve a
//     frontend, run notebooks headless.
//
// kernel/testdata holds the jupyter_kernel_test conformance script that
// kernel/cmd/qlab-kernel/conformance runs.
package kernel
