package jupyter

import (
	"encoding/json"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Content structs of the messages the kernel handles, field for field as
// "Messaging in Jupyter" (protocol 5.3) names them.

// ExecuteRequestContent is the content of an execute_request.
type ExecuteRequestContent struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"` // default true
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`   // default true
	StopOnError     *bool             `json:"stop_on_error"` // default true
}

// ErrorContent is the error part shared by error messages and error replies.
type ErrorContent struct {
	Ename     string   `json:"ename"`
	Evalue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// ExecuteReplyContent is the content of an execute_reply.
type ExecuteReplyContent struct {
	Status         ReplyStatus    `json:"status"`
	ExecutionCount int            `json:"execution_count"`
	Payload        []any          `json:"payload"`
	UserExprs      map[string]any `json:"user_expressions"`
}

// executeErrorReply is the execute_reply for a failed cell: status "error"
// and the error fields, without payload and user_expressions.
type executeErrorReply struct {
	Status         ReplyStatus `json:"status"`
	ExecutionCount int         `json:"execution_count"`
	ErrorContent
}

// MIMEBundle is the data/metadata/transient triple of display_data,
// update_display_data and execute_result on the wire.
type MIMEBundle struct {
	Data      map[display.MIME]any `json:"data"`
	Metadata  map[display.MIME]any `json:"metadata"`
	Transient map[string]any       `json:"transient,omitempty"`
}

// bundle converts display.Data for the wire: never-nil data and metadata
// (both required), transient only when set.
func bundle(d display.Data) MIMEBundle {
	b := MIMEBundle{Data: d.Data, Metadata: d.Metadata, Transient: d.Transient}
	if b.Data == nil {
		b.Data = map[display.MIME]any{}
	}
	if b.Metadata == nil {
		b.Metadata = map[display.MIME]any{}
	}
	if len(b.Transient) == 0 {
		b.Transient = nil
	}
	return b
}

// ExecuteResultContent is the content of an execute_result.
type ExecuteResultContent struct {
	ExecutionCount int `json:"execution_count"`
	MIMEBundle
}

// StreamContent is the content of a stream message.
type StreamContent struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// ExecuteInputContent is the content of an execute_input message.
type ExecuteInputContent struct {
	Code           string `json:"code"`
	ExecutionCount int    `json:"execution_count"`
}

// StatusContent is the content of a status message.
type StatusContent struct {
	ExecutionState ExecutionState `json:"execution_state"`
}

// ClearOutputContent is the content of a clear_output message.
type ClearOutputContent struct {
	Wait bool `json:"wait"`
}

// CompleteRequestContent is the content of a complete_request.
type CompleteRequestContent struct {
	Code      string `json:"code"`
	CursorPos *int   `json:"cursor_pos"` // code points; default: end of code
}

// CompleteReplyContent is the content of a complete_reply.
type CompleteReplyContent struct {
	Status      ReplyStatus    `json:"status"`
	Matches     []string       `json:"matches"`
	CursorStart int            `json:"cursor_start"`
	CursorEnd   int            `json:"cursor_end"`
	Metadata    map[string]any `json:"metadata"`
}

// InspectRequestContent is the content of an inspect_request.
type InspectRequestContent struct {
	Code        string `json:"code"`
	CursorPos   *int   `json:"cursor_pos"`
	DetailLevel int    `json:"detail_level"`
}

// InspectReplyContent is the content of an inspect_reply.
type InspectReplyContent struct {
	Status ReplyStatus `json:"status"`
	Found  bool        `json:"found"`
	MIMEBundle
}

// IsCompleteRequestContent is the content of an is_complete_request.
type IsCompleteRequestContent struct {
	Code *string `json:"code"`
}

// IsCompleteReplyContent is the content of an is_complete_reply.
type IsCompleteReplyContent struct {
	Status string `json:"status"`
	Indent string `json:"indent,omitempty"`
}

// HistoryRequestContent is the content of a history_request.
type HistoryRequestContent struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"` // "range", "tail" or "search"
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           *int   `json:"stop"`
	N              *int   `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

// HistoryReplyContent is the content of a history_reply. Each entry is
// [session, line, input] or, with output, [session, line, [input, output]].
type HistoryReplyContent struct {
	Status  ReplyStatus `json:"status"`
	History [][3]any    `json:"history"`
}

// KernelInfoReplyContent is the content of a kernel_info_reply.
type KernelInfoReplyContent struct {
	Status                ReplyStatus  `json:"status"`
	ProtocolVersion       string       `json:"protocol_version"`
	Implementation        string       `json:"implementation"`
	ImplementationVersion string       `json:"implementation_version"`
	LanguageInfo          LanguageInfo `json:"language_info"`
	Banner                string       `json:"banner"`
	Debugger              bool         `json:"debugger"`
	HelpLinks             []HelpLink   `json:"help_links"`
}

// LanguageInfo describes the kernel's language in kernel_info_reply.
type LanguageInfo struct {
	Name              string `json:"name"`
	Version           string `json:"version"`
	MIMEType          string `json:"mimetype"`
	FileExtension     string `json:"file_extension"`
	PygmentsLexer     string `json:"pygments_lexer"`
	CodemirrorMode    string `json:"codemirror_mode"`
	NBConvertExporter string `json:"nbconvert_exporter,omitempty"`
}

// HelpLink is one entry of the frontend's help menu.
type HelpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// ShutdownContent is the content of shutdown_request and shutdown_reply.
type ShutdownContent struct {
	Status  ReplyStatus `json:"status,omitempty"`
	Restart bool        `json:"restart"`
}

// CommInfoReplyContent is the content of a comm_info_reply.
type CommInfoReplyContent struct {
	Status ReplyStatus    `json:"status"`
	Comms  map[string]any `json:"comms"`
}

// CommContent is the content of comm_open, comm_msg and comm_close.
type CommContent struct {
	CommID     string         `json:"comm_id"`
	TargetName string         `json:"target_name,omitempty"`
	Data       map[string]any `json:"data"`
}

// InputRequestContent is the content of an input_request on stdin.
type InputRequestContent struct {
	Prompt   string `json:"prompt"`
	Password bool   `json:"password"`
}

// InputReplyContent is the content of an input_reply on stdin.
type InputReplyContent struct {
	Value string `json:"value"`
}

// statusReply is the content of replies that carry only a status.
type statusReply struct {
	Status ReplyStatus `json:"status"`
}

// errorReply is the content of a reply to a request that could not be
// handled (malformed content, unknown fields types, evaluator failure).
type errorReply struct {
	Status ReplyStatus `json:"status"`
	ErrorContent
}

// decodeContent unmarshals raw into v, requiring the listed fields to be
// present: the spec makes them mandatory and defaulting them would run code
// the user never sent (an execute_request without code).
func decodeContent(raw json.RawMessage, v any, required ...string) error {
	if len(required) > 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return fmt.Errorf("jupyter: bad content: %w", err)
		}
		for _, f := range required {
			if _, ok := fields[f]; !ok {
				return fmt.Errorf("jupyter: content has no %q field", f)
			}
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("jupyter: bad content: %w", err)
	}
	return nil
}
