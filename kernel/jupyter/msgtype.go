package jupyter

import "strings"

// MsgType is a Jupyter message type, the header's msg_type.
type MsgType string

// Message types of the Jupyter messaging protocol 5.3 that the kernel sends
// or understands.
const (
	KernelInfoRequest MsgType = "kernel_info_request"
	KernelInfoReply   MsgType = "kernel_info_reply"
	ExecuteRequest    MsgType = "execute_request"
	ExecuteReply      MsgType = "execute_reply"
	CompleteRequest   MsgType = "complete_request"
	CompleteReply     MsgType = "complete_reply"
	InspectRequest    MsgType = "inspect_request"
	InspectReply      MsgType = "inspect_reply"
	IsCompleteRequest MsgType = "is_complete_request"
	IsCompleteReply   MsgType = "is_complete_reply"
	HistoryRequest    MsgType = "history_request"
	HistoryReply      MsgType = "history_reply"
	CommInfoRequest   MsgType = "comm_info_request"
	CommInfoReply     MsgType = "comm_info_reply"
	CommOpen          MsgType = "comm_open"
	CommMsg           MsgType = "comm_msg"
	CommClose         MsgType = "comm_close"
	InterruptRequest  MsgType = "interrupt_request"
	InterruptReply    MsgType = "interrupt_reply"
	ShutdownRequest   MsgType = "shutdown_request"
	ShutdownReply     MsgType = "shutdown_reply"

	InputRequest MsgType = "input_request"
	InputReply   MsgType = "input_reply"

	Status            MsgType = "status"
	ExecuteInput      MsgType = "execute_input"
	ExecuteResult     MsgType = "execute_result"
	Stream            MsgType = "stream"
	DisplayData       MsgType = "display_data"
	UpdateDisplayData MsgType = "update_display_data"
	ClearOutput       MsgType = "clear_output"
	Error             MsgType = "error"
)

// ProtocolVersion is the messaging protocol version the kernel implements and
// puts in every header. jupyter_client 7 rejects kernels reporting 5.1 or
// older, and cursor positions are in code points from 5.2 on.
const ProtocolVersion = "5.3"

// IsRequest reports whether t names a request, which expects a reply.
func (t MsgType) IsRequest() bool { return strings.HasSuffix(string(t), "_request") }

// Reply returns the reply type for a request type ("x_request" → "x_reply"),
// or "" when t is not a request.
func (t MsgType) Reply() MsgType {
	if !t.IsRequest() {
		return ""
	}
	return MsgType(strings.TrimSuffix(string(t), "_request") + "_reply")
}

// ExecutionState is the content of a status message.
type ExecutionState string

// Execution states published on IOPub.
const (
	StateStarting ExecutionState = "starting"
	StateBusy     ExecutionState = "busy"
	StateIdle     ExecutionState = "idle"
)

// ReplyStatus is the status field of every reply.
type ReplyStatus string

// Reply statuses. StatusAborted answers execute requests skipped after an
// earlier error with stop_on_error set.
const (
	StatusOK      ReplyStatus = "ok"
	StatusError   ReplyStatus = "error"
	StatusAborted ReplyStatus = "aborted"
)
