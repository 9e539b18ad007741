// Package zmtp is the kernel's ZeroMQ transport: the ZMTP 3.0 wire protocol
// (RFC 23) with the NULL security mechanism, over TCP or Unix sockets, for
// the three socket types a Jupyter kernel binds — ROUTER (shell, control,
// stdin), PUB (IOPub) and REP (heartbeat). Peers are ordinary ZeroMQ
// clients (libzmq through pyzmq, go-zeromq/zmq4): DEALER or REQ to a
// ROUTER, SUB or XSUB to a PUB, REQ or DEALER to a REP.
//
// It exists to bound what an unauthenticated peer can cost the kernel, which
// go-zeromq/zmq4 v0.17.0 does not:
//
//   - A frame's declared size is checked against Options.MaxMessageBytes
//     before anything is allocated, and a frame's buffer grows only as its
//     bytes arrive, so a header declaring a terabyte costs nothing.
//   - Bytes of messages being received or waiting for Recv, across every
//     connection of every socket sharing a Budget, stay under the Budget's
//     size (64 MiB by default): when a connection would exceed it, the
//     connection with the largest message in progress is dropped — an
//     attacker's giant message goes, a client's small request gets through.
//   - Each peer has its own send queue bounded in messages and bytes
//     (Options.SendHWM, Options.SendQueueBytes); a peer that does not read
//     loses messages past the bound, as libzmq's PUB drops at its
//     high-water mark, and never stalls the other peers or the sender.
//
// Jupyter's HMAC signatures are checked above this package, by
// kernel/jupyter; this package knows nothing of Jupyter messages.
package zmtp
