package jupyter

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Delimiter separates the ZeroMQ routing identities from the message proper.
const Delimiter = "<IDS|MSG>"

// DefaultMaxMessageBytes bounds the size of a decoded message (all frames
// after the delimiter) when Config.MaxMessageBytes is zero: 64 MiB, far above
// any code cell or input reply, low enough that a runaway client cannot make
// the kernel parse gigabytes of JSON.
const DefaultMaxMessageBytes = 64 << 20

// Header is a message header. ParentHeader fields are the request's header.
type Header struct {
	MsgID    string  `json:"msg_id"`
	Session  string  `json:"session"`
	Username string  `json:"username"`
	Date     string  `json:"date"`
	MsgType  MsgType `json:"msg_type"`
	Version  string  `json:"version"`
}

// Message is one Jupyter message as it travels over a socket.
type Message struct {
	// Identities are the ZeroMQ routing frames before the delimiter; a reply
	// must carry the request's identities or a ROUTER socket drops it.
	Identities [][]byte
	Header     Header
	// ParentHeader is the raw JSON header of the message this one answers,
	// kept verbatim so fields this kernel does not know survive the echo;
	// "{}" when there is none.
	ParentHeader json.RawMessage
	Metadata     map[string]any
	// Content is the raw JSON content object; handlers decode it into the
	// typed struct of the message type.
	Content json.RawMessage
	Buffers [][]byte

	// rawHeader is the header exactly as received, echoed as the parent
	// header of replies.
	rawHeader json.RawMessage
}

// Errors returned by Decode. A DecodeError wraps one of them.
var (
	ErrNoDelimiter  = errors.New("jupyter: no <IDS|MSG> delimiter")
	ErrShortMessage = errors.New("jupyter: fewer than 5 frames after the delimiter")
	ErrBadSignature = errors.New("jupyter: bad signature")
	ErrTooLarge     = errors.New("jupyter: message too large")
	ErrBadJSON      = errors.New("jupyter: bad JSON")
)

// DecodeError is a message that could not be decoded. When the header was
// readable, Header and Identities are set so that a request can still be
// answered with an error reply.
type DecodeError struct {
	Err        error
	Part       string // frame at fault: "header", "content", ...
	Identities [][]byte
	Header     *Header
	rawHeader  json.RawMessage
}

func (e *DecodeError) Error() string {
	if e.Part != "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.Part)
	}
	return e.Err.Error()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Signer signs and verifies messages with HMAC-SHA256. The zero value (no
// key) signs with the empty string and accepts any signature, as Jupyter
// specifies for an empty key.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for key; an empty key disables signing.
func NewSigner(key []byte) Signer { return Signer{key: bytes.Clone(key)} }

// Sign returns the hex signature of the four signed frames, "" without a key.
func (s Signer) Sign(header, parent, metadata, content []byte) string {
	if len(s.key) == 0 {
		return ""
	}
	return hex.EncodeToString(s.mac(header, parent, metadata, content))
}

func (s Signer) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Verify reports whether sig (hex) signs the four frames. Without a key every
// signature is accepted. The comparison is constant-time.
func (s Signer) Verify(sig, header, parent, metadata, content []byte) bool {
	if len(s.key) == 0 {
		return true
	}
	got := make([]byte, hex.DecodedLen(len(sig)))
	n, err := hex.Decode(got, sig)
	if err != nil {
		return false
	}
	return hmac.Equal(got[:n], s.mac(header, parent, metadata, content))
}

// Decode parses the frames of one message, verifying its signature. max
// bounds the total size of the frames after the delimiter (0: no bound).
// It never panics on malformed input; errors are *DecodeError.
func Decode(frames [][]byte, s Signer, max int) (*Message, error) {
	delim := -1
	for i, f := range frames {
		if string(f) == Delimiter {
			delim = i
			break
		}
	}
	if delim < 0 {
		return nil, &DecodeError{Err: ErrNoDelimiter}
	}
	ids := frames[:delim]
	rest := frames[delim+1:]
	derr := func(err error, part string) *DecodeError {
		return &DecodeError{Err: err, Part: part, Identities: ids}
	}
	if len(rest) < 5 {
		return nil, derr(ErrShortMessage, "")
	}
	sig, hdr, parent, meta, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	// Hashing is cheap next to parsing JSON, so even an oversized message is
	// authenticated first; its header is then read (when small enough) so
	// that the request can be answered with an error.
	if !s.Verify(sig, hdr, parent, meta, content) {
		return nil, derr(ErrBadSignature, "signature")
	}
	total := 0
	for _, f := range rest {
		total += len(f)
	}
	tooLarge := max > 0 && total > max
	if tooLarge && len(hdr) > max {
		return nil, derr(fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, total, max), "")
	}
	m := &Message{Identities: ids, Buffers: rest[5:]}
	if err := json.Unmarshal(hdr, &m.Header); err != nil || !isObject(hdr) {
		return nil, derr(fmt.Errorf("%w: %v", ErrBadJSON, err), "header")
	}
	m.rawHeader = json.RawMessage(hdr)
	e := derr(nil, "")
	e.Header = &m.Header
	e.rawHeader = m.rawHeader
	if tooLarge {
		e.Err = fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, total, max)
		return nil, e
	}
	if m.Header.MsgType == "" {
		e.Err, e.Part = fmt.Errorf("%w: header has no msg_type", ErrBadJSON), "header"
		return nil, e
	}
	if len(bytes.TrimSpace(parent)) == 0 {
		parent = []byte("{}")
	}
	if !isObject(parent) {
		e.Err, e.Part = ErrBadJSON, "parent_header"
		return nil, e
	}
	m.ParentHeader = json.RawMessage(parent)
	if len(bytes.TrimSpace(meta)) > 0 {
		if err := json.Unmarshal(meta, &m.Metadata); err != nil {
			e.Err, e.Part = fmt.Errorf("%w: %v", ErrBadJSON, err), "metadata"
			return nil, e
		}
	}
	if len(bytes.TrimSpace(content)) == 0 {
		content = []byte("{}")
	}
	if !isObject(content) {
		e.Err, e.Part = fmt.Errorf("%w: content is not a JSON object", ErrBadJSON), "content"
		return nil, e
	}
	m.Content = json.RawMessage(content)
	return m, nil
}

// isObject reports whether b is one valid JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// Encode returns the frames of m, signed by s. A nil ParentHeader, Metadata
// or Content is sent as {}.
func Encode(m *Message, s Signer) ([][]byte, error) {
	hdr, err := json.Marshal(m.Header)
	if err != nil {
		return nil, fmt.Errorf("jupyter: encoding header: %w", err)
	}
	parent := []byte(m.ParentHeader)
	if len(parent) == 0 {
		parent = []byte("{}")
	}
	meta := []byte("{}")
	if len(m.Metadata) > 0 {
		if meta, err = json.Marshal(m.Metadata); err != nil {
			return nil, fmt.Errorf("jupyter: encoding %s metadata: %w", m.Header.MsgType, err)
		}
	}
	content := []byte(m.Content)
	if len(content) == 0 {
		content = []byte("{}")
	}
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, []byte(Delimiter), []byte(s.Sign(hdr, parent, meta, content)), hdr, parent, meta, content)
	frames = append(frames, m.Buffers...)
	return frames, nil
}

// newID returns a random UUID version 4 string for msg_id and session.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes
		// the program instead of returning an error).
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// now is the header date: ISO 8601 in UTC with microseconds, as ipykernel
// writes it.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
