// Package kernel is qlab's Jupyter kernel for Go; this file only documents
// how its packages divide the work.
//
//   - kernel/jupyter: the Jupyter messaging protocol 5.3 — connection files,
//     wire format and HMAC signing, dispatch, execution counts, history,
//     stop_on_error, interrupts. It defines the Evaluator and Output
//     interfaces and knows nothing of Go evaluation; it serves sockets it is
//     handed and links no network transport, so the headless runner does
//     not either.
//   - kernel/zmtp: the ZeroMQ transport (ZMTP 3.0, NULL mechanism; ROUTER,
//     PUB, REP), written for the kernel because go-zeromq/zmq4 v0.17.0
//     allocates whatever frame size a peer declares and stalls every IOPub
//     client behind one that does not read. It bounds what unauthenticated
//     peers can make the kernel hold (64 MiB in all) and gives each peer a
//     bounded send queue that drops rather than blocks.
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
