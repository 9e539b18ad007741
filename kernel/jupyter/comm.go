package jupyter

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// CommHandler receives the frontend's side of the comms of the targets it
// was registered for (RegisterCommTarget). Its methods run on the shell
// goroutine, one message at a time, between the message's busy and idle
// status; what they send through Comms goes out with that message as
// parent, as the widget protocol's echo_update requires. A returned error
// is logged and never ends the kernel.
type CommHandler interface {
	// CommOpen is a comm the frontend opened on target. An error rejects
	// it: the kernel then closes the comm again.
	CommOpen(target, commID string, data map[string]any) error
	// CommMsg is a comm_msg on an open comm of the handler's targets.
	CommMsg(commID string, data map[string]any) error
	// CommClose is the frontend closing a comm; the kernel forgets it.
	CommClose(commID string, data map[string]any)
}

// ErrNoComm is returned when sending on a comm that is not open.
var ErrNoComm = errors.New("jupyter: no such comm")

// comms is the kernel's table of open comms and of registered targets.
type comms struct {
	mu      sync.Mutex
	targets map[string]CommHandler
	open    map[string]string // comm_id -> target_name
	parent  *Message          // the shell message being handled, or the last one
}

// RegisterCommTarget routes comm_open messages for target to h, and the
// comm_msg and comm_close messages of the comms opened on it (from either
// side). Register before Serve; a target registered twice keeps the last
// handler. Comms on targets nobody registered are closed right away, as
// ipykernel does.
func (k *Kernel) RegisterCommTarget(target string, h CommHandler) {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	if k.comms.targets == nil {
		k.comms.targets = map[string]CommHandler{}
	}
	k.comms.targets[target] = h
}

// Comms is the kernel's side of the comm protocol for code that opens
// comms itself (the widgets of qlab/display/widget): open, send on and
// close comms, published on IOPub with the shell message being handled (a
// cell's execute_request, a comm_msg) as parent.
type Comms struct{ k *Kernel }

// Comms returns the kernel's Comms.
func (k *Kernel) Comms() Comms { return Comms{k} }

// Open opens comm commID on target, with data as comm_open's data and
// metadata as the message's metadata (the widget protocol puts its version
// there). The target must be registered, so that the frontend's replies on
// the comm reach its handler.
func (c Comms) Open(commID, target string, data, metadata map[string]any) error {
	k := c.k
	k.comms.mu.Lock()
	_, known := k.comms.targets[target]
	if known {
		if k.comms.open == nil {
			k.comms.open = map[string]string{}
		}
		k.comms.open[commID] = target
	}
	parent := k.comms.parent
	k.comms.mu.Unlock()
	if !known {
		return fmt.Errorf("jupyter: comm_open %s: target %q is not registered", commID, target)
	}
	return k.publishMeta(parent, CommOpen, CommContent{CommID: commID, TargetName: target, Data: nonNil(data)}, metadata)
}

// Send sends data on the open comm commID as a comm_msg.
func (c Comms) Send(commID string, data map[string]any) error {
	k := c.k
	k.comms.mu.Lock()
	_, ok := k.comms.open[commID]
	parent := k.comms.parent
	k.comms.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoComm, commID)
	}
	return k.publishMeta(parent, CommMsg, CommContent{CommID: commID, Data: nonNil(data)}, nil)
}

// Close closes the open comm commID with a comm_close carrying data.
func (c Comms) Close(commID string, data map[string]any) error {
	k := c.k
	k.comms.mu.Lock()
	_, ok := k.comms.open[commID]
	delete(k.comms.open, commID)
	parent := k.comms.parent
	k.comms.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoComm, commID)
	}
	return k.publishMeta(parent, CommClose, CommContent{CommID: commID, Data: nonNil(data)}, nil)
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// setCommParent records the shell message being handled: what comms send
// until the next one goes out with it as parent.
func (k *Kernel) setCommParent(m *Message) {
	k.comms.mu.Lock()
	k.comms.parent = m
	k.comms.mu.Unlock()
}

// commInfoRequestContent is the content of a comm_info_request.
type commInfoRequestContent struct {
	TargetName string `json:"target_name"`
}

// comm answers comm_info_request and routes comm_open, comm_msg and
// comm_close. Bad messages (no comm_id, an unknown comm, data that is not
// an object, a handler's error) are logged; none of them ends the kernel.
func (k *Kernel) comm(sock Socket, m *Message) {
	if m.Header.MsgType == CommInfoRequest {
		var c commInfoRequestContent
		if err := decodeContent(m.Content, &c); err != nil {
			k.replyError(sock, m, "BadRequest", err)
			return
		}
		k.reply(sock, m, CommInfoReplyContent{Status: StatusOK, Comms: k.commInfo(c.TargetName)})
		return
	}
	var c CommContent
	if err := decodeContent(m.Content, &c, "comm_id"); err != nil {
		k.log.Printf("%s: %v", m.Header.MsgType, err)
		return
	}
	if c.CommID == "" {
		k.log.Printf("%s: empty comm_id; ignored", m.Header.MsgType)
		return
	}
	k.comms.mu.Lock()
	target, open := k.comms.open[c.CommID]
	if m.Header.MsgType == CommOpen {
		target = c.TargetName
	}
	h := k.comms.targets[target]
	if m.Header.MsgType == CommOpen && h != nil && !open {
		if k.comms.open == nil {
			k.comms.open = map[string]string{}
		}
		k.comms.open[c.CommID] = target
	}
	if m.Header.MsgType == CommClose {
		delete(k.comms.open, c.CommID)
	}
	k.comms.mu.Unlock()

	switch m.Header.MsgType {
	case CommOpen:
		if open {
			k.log.Printf("comm_open: comm %s is already open; ignored", c.CommID)
			return
		}
		if h == nil {
			k.log.Printf("comm_open: no target %q; closing comm %s", c.TargetName, c.CommID)
			k.publish(m, CommClose, CommContent{CommID: c.CommID, Data: map[string]any{}})
			return
		}
		if err := h.CommOpen(target, c.CommID, nonNil(c.Data)); err != nil {
			k.log.Printf("comm_open %s on %q: %v; closing it", c.CommID, target, err)
			k.comms.mu.Lock()
			delete(k.comms.open, c.CommID)
			k.comms.mu.Unlock()
			k.publish(m, CommClose, CommContent{CommID: c.CommID, Data: map[string]any{}})
		}
	case CommMsg:
		if !open || h == nil {
			k.log.Printf("comm_msg: comm %s is not open; ignored", c.CommID)
			return
		}
		if err := h.CommMsg(c.CommID, nonNil(c.Data)); err != nil {
			k.log.Printf("comm_msg on %s (%s): %v", c.CommID, target, err)
		}
	case CommClose:
		if !open || h == nil {
			k.log.Printf("comm_close: comm %s is not open; ignored", c.CommID)
			return
		}
		h.CommClose(c.CommID, nonNil(c.Data))
	}
}

// commInfo lists the open comms, of target only when target is not "".
func (k *Kernel) commInfo(target string) map[string]any {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	ids := make([]string, 0, len(k.comms.open))
	for id, t := range k.comms.open {
		if target == "" || t == target {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := make(map[string]any, len(ids))
	for _, id := range ids {
		out[id] = map[string]string{"target_name": k.comms.open[id]}
	}
	return out
}

// publishMeta is publish with the message's metadata set.
func (k *Kernel) publishMeta(parent *Message, t MsgType, content any, metadata map[string]any) error {
	k.mu.Lock()
	iopub := k.socks.IOPub
	k.mu.Unlock()
	if iopub == nil {
		return errors.New("jupyter: not serving")
	}
	c, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("jupyter: encoding %s content: %w", t, err)
	}
	msg := &Message{
		Identities: [][]byte{[]byte("kernel." + k.session + "." + string(t))},
		Header: Header{MsgID: newID(), Session: k.session, Username: "qlab", Date: now(),
			MsgType: t, Version: ProtocolVersion},
		Metadata: metadata,
		Content:  c,
	}
	if parent != nil {
		msg.ParentHeader = parent.rawHeader
	}
	frames, err := Encode(msg, k.signer)
	if err != nil {
		return err
	}
	if err := iopub.Send(frames); err != nil {
		k.log.Printf("iopub %s: %v", t, err)
		return err
	}
	return nil
}
