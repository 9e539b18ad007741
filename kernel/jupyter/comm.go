package jupyter

// comm answers the comm messages (comm_info_request, comm_open, comm_msg,
// comm_close). No comm target is registered yet: comm_info lists none, a
// comm_open is closed right away, as ipykernel does for an unknown
// target_name, and messages to other comms are ignored.
func (k *Kernel) comm(sock Socket, m *Message) {
	switch t := m.Header.MsgType; t {
	case CommInfoRequest:
		k.reply(sock, m, CommInfoReplyContent{Status: StatusOK, Comms: map[string]any{}})
	case CommOpen:
		var c CommContent
		if err := decodeContent(m.Content, &c, "comm_id"); err != nil {
			k.log.Printf("comm_open: %v", err)
			return
		}
		k.log.Printf("comm_open: no target %q; closing comm %s", c.TargetName, c.CommID)
		k.publish(m, CommClose, CommContent{CommID: c.CommID, Data: map[string]any{}})
	default:
		k.log.Printf("%s: no comms are open; ignored", t)
	}
}
