package jupyter_test

import (
	"encoding/json"
	"fmt"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// A message round-trips through the wire format: identities, the
// delimiter, the HMAC-SHA256 signature, then the JSON frames. A frame
// changed in transit fails the signature check.
func ExampleDecode() {
	s := jupyter.NewSigner([]byte("connection-file-key"))
	frames, _ := jupyter.Encode(&jupyter.Message{
		Identities: [][]byte{[]byte("client")},
		Header:     jupyter.Header{MsgID: "1", Session: "s", MsgType: jupyter.ExecuteRequest, Version: jupyter.ProtocolVersion},
		Content:    json.RawMessage(`{"code":"1+1"}`),
	}, s)
	fmt.Println(len(frames), string(frames[1]))

	m, err := jupyter.Decode(frames, s, jupyter.DefaultMaxMessageBytes)
	fmt.Println(m.Header.MsgType, string(m.Content), err)

	frames[6] = []byte(`{"code":"rm -rf"}`)
	_, err = jupyter.Decode(frames, s, jupyter.DefaultMaxMessageBytes)
	fmt.Println(err)
	// Output:
	// 7 <IDS|MSG>
	// execute_request {"code":"1+1"} <nil>
	// jupyter: bad signature (signature)
}
