package jupyter

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSigner(t *testing.T) {
	// Oracle: the HMAC-SHA256 of the concatenated frames, computed here
	// directly as jupyter_client's Session.sign does.
	hdr, parent, meta, content := []byte(`{"msg_id":"1"}`), []byte(`{}`), []byte(`{}`), []byte(`{"code":"x"}`)
	mac := hmac.New(sha256.New, []byte("secret"))
	for _, p := range [][]byte{hdr, parent, meta, content} {
		mac.Write(p)
	}
	want := hex.EncodeToString(mac.Sum(nil))
	s := NewSigner([]byte("secret"))
	if got := s.Sign(hdr, parent, meta, content); got != want {
		t.Fatalf("Sign = %s; want %s", got, want)
	}
	tests := []struct {
		name   string
		signer Signer
		sig    string
		ok     bool
	}{
		{"valid", s, want, true},
		{"uppercase hex", s, strings.ToUpper(want), true},
		{"flipped", s, strings.Replace(want, want[:1], string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", want[0])+1)%16]), 1), false},
		{"truncated", s, want[:62], false},
		{"empty", s, "", false},
		{"not hex", s, "zz" + want[2:], false},
		{"other key", NewSigner([]byte("other")), want, false},
		{"no key accepts anything", NewSigner(nil), "garbage", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.signer.Verify([]byte(tc.sig), hdr, parent, meta, content); got != tc.ok {
				t.Errorf("Verify = %v; want %v", got, tc.ok)
			}
		})
	}
	if got := NewSigner(nil).Sign(hdr, parent, meta, content); got != "" {
		t.Errorf("Sign without key = %q; want empty", got)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := NewSigner([]byte("k"))
	m := &Message{
		Identities:   [][]byte{[]byte("id1"), {0, 1, 2}},
		Header:       Header{MsgID: "m", Session: "s", Username: "u", Date: "2026-01-01T00:00:00Z", MsgType: ExecuteRequest, Version: "5.3"},
		ParentHeader: json.RawMessage(`{"msg_id":"p","extra":1}`),
		Metadata:     map[string]any{"deletedCells": []any{}},
		Content:      json.RawMessage(`{"code":"é"}`),
		Buffers:      [][]byte{[]byte("buf")},
	}
	f, err := Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(f, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header != m.Header || !bytes.Equal(got.ParentHeader, m.ParentHeader) || !bytes.Equal(got.Content, m.Content) ||
		len(got.Identities) != 2 || !bytes.Equal(got.Identities[1], []byte{0, 1, 2}) || len(got.Buffers) != 1 ||
		got.Metadata["deletedCells"] == nil {
		t.Errorf("round trip: got %+v; want %+v", got, m)
	}
	if _, err := Decode(f, s, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode with max 10 bytes: %v; want ErrTooLarge", err)
	}
}

// FuzzDecode feeds arbitrary frames to Decode (with and without a key): it
// must return a message or an error, never panic or hang, and what it
// accepts must re-encode to something it accepts again.
func FuzzDecode(f *testing.F) {
	s := NewSigner([]byte("fuzz"))
	good, _ := Encode(&Message{Identities: [][]byte{[]byte("id")}, Header: Header{MsgID: "m", MsgType: ExecuteRequest,
		Version: "5.3"}, Content: json.RawMessage(`{"code":"1"}`)}, s)
	join := func(frames [][]byte) []byte { return bytes.Join(frames, []byte{0}) }
	f.Add(join(good), true)
	f.Add(join(good), false)
	f.Add([]byte("<IDS|MSG>"), false)
	f.Add([]byte("<IDS|MSG>\x00\x00{\x00{}\x00{}\x00{}"), false)
	f.Add([]byte("a\x00<IDS|MSG>\x00sig\x00{\"msg_type\":1}\x00{}\x00{}\x00[]"), false)
	f.Add([]byte("<IDS|MSG>\x00\x00{\"msg_type\":\"x\"}\x00null\x00{}\x00{\"a\":\"\\ud800\"}\x00buf"), false)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		frames := bytes.Split(data, []byte{0})
		signer := Signer{}
		if signed {
			signer = s
		}
		m, err := Decode(frames, signer, 1<<16)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			_ = de.Error()
			return
		}
		if m.Header.MsgType == "" || !json.Valid(m.Content) || !json.Valid(m.ParentHeader) {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
		again, err := Encode(m, signer)
		if err != nil {
			return // metadata with values JSON cannot re-encode is tolerable
		}
		if _, err := Decode(again, signer, 0); err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
	})
}
