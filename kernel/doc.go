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
//     frontend, run notebooks headless. Serving is two processes: a
//     supervisor that holds the sockets, answers the heartbeat and
//     kernel_info_request, and relays every other message over a socket
//     pair to an evaluator process, which runs kernel/jupyter's Kernel on
//     kernel/interp. Comm messages reach the evaluator like any other.
//
// What a failure costs. Inside the evaluator, a cell's error or panic, an
// interrupt, and whatever kernel/interp catches (see its docs) are reported
// on the cell and keep every variable. Failures that end the Go runtime
// itself cost a restart: a stack overflow (goroutine stacks are bounded at
// 64 MiB, so runaway recursion ends in about 3 s; legitimate interpreted
// recursion still goes about 30,000 calls deep), the runtime running out of
// memory, other fatal runtime errors such as concurrent map writes, and the
// evaluator being killed (SIGKILL from the out-of-memory killer). The
// supervisor then answers the running cell with an error named KernelDied
// whose value names the failure ("fatal error: stack overflow", "fatal
// error: concurrent map writes", "killed by SIGKILL, most likely by the
// system's out-of-memory killer"), aborts the execute_requests queued behind
// it, and starts a new evaluator: the frontend stays connected, but the
// variables, imports and definitions of earlier cells are gone. A failure
// while no cell runs (a goroutine left by an earlier cell) is shown on the
// last cell and again on the next one. If the evaluator dies within 2 s of
// starting three times in a row, the supervisor exits and the frontend's
// own restart takes over.
//
// kernel/testdata holds the jupyter_kernel_test conformance script that
// kernel/cmd/qlab-kernel/conformance runs.
package kernel
