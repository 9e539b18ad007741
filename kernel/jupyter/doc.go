// Package jupyter serves the Jupyter messaging protocol (version 5.3) for a
// kernel whose cells are run by an Evaluator.
//
// Its boundary: connection files, the wire format (identities, <IDS|MSG>
// delimiter, HMAC-SHA256 signature, header, parent header, metadata, content,
// buffers), request dispatch, execution counting, history and
// stop-on-error aborts. It binds no network socket: Serve takes the four
// message sockets as Socket values from the caller (qlab-kernel binds
// them; tests use in-memory ones), so the headless notebook runner, which
// needs only the Evaluator and Output interfaces, links no transport. It does not evaluate
// code: Evaluator does (kernel/interp implements it), and what a cell emits
// comes back through the Output it is handed. MIME bundles are
// qlab/display's Data.
//
// Files: kernel.go (interfaces, Config, Kernel), serve.go (socket loops,
// replies, IOPub), dispatch.go (requests by message type), execute.go
// (execute_request, stop_on_error, cell output, stdin), comm.go (comms).
//
// Shell and control are served by separate goroutines, so an
// interrupt_request or shutdown_request on control is answered while a cell
// runs on shell. Every reply goes out on the socket its request came in on,
// addressed to the request's ZeroMQ identities, and every IOPub message
// carries the request's header as its parent header, bracketed by
// status busy and status idle.
package jupyter
