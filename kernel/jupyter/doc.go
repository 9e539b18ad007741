// Package jupyter serves the Jupyter messaging protocol (version 5.3) for a
// kernel whose cells are run by an Evaluator.
//
// Its boundary: connection files, the wire format (identities, <IDS|MSG>
// delimiter, HMAC-SHA256 signature, header, parent header, metadata, content,
// buffers), the five sockets (shell, control, stdin, IOPub, heartbeat) on the
// pure-Go ZeroMQ implementation github.com/go-zeromq/zmq4, request dispatch,
// execution counting, history and stop-on-error aborts. It does not evaluate
// code: Evaluator does (kernel/interp implements it), and what a cell emits
// comes back through the Output it is handed. MIME bundles are
// qlab/display's Data.
//
// Shell and control are served by separate goroutines, so an
// interrupt_request or shutdown_request on control is answered while a cell
// runs on shell. Every reply goes out on the socket its request came in on,
// addressed to the request's ZeroMQ identities, and every IOPub message
// carries the request's header as its parent header, bracketed by
// status busy and status idle.
package jupyter
