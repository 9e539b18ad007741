package zmtp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// zmq4 (go-zeromq) is the independent peer: an implementation of ZMTP this
// package shares no code with.

func listen(t *testing.T, typ Type, opt Options) *Socket {
	t.Helper()
	s, err := Listen(typ, "tcp://127.0.0.1:0", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func endpoint(s *Socket) string { return "tcp://" + s.Addr().String() }

func dial(t *testing.T, s zmq4.Socket, ep string) {
	t.Helper()
	if err := s.Dial(ep); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
}

// recv returns the next message of s, failing after d.
func recv(t *testing.T, s interface{ Recv() ([][]byte, error) }, d time.Duration) [][]byte {
	t.Helper()
	ch := make(chan [][]byte, 1)
	errc := make(chan error, 1)
	go func() {
		f, err := s.Recv()
		if err != nil {
			errc <- err
			return
		}
		ch <- f
	}()
	select {
	case f := <-ch:
		return f
	case err := <-errc:
		t.Fatalf("recv: %v", err)
	case <-time.After(d):
		t.Fatalf("nothing received within %v", d)
	}
	return nil
}

type zrecv struct{ s zmq4.Socket }

func (z zrecv) Recv() ([][]byte, error) {
	m, err := z.s.Recv()
	return m.Frames, err
}

func TestRouterDealer(t *testing.T) {
	r := listen(t, Router, Options{})
	ctx := t.Context()
	a := zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity("client-a")))
	b := zmq4.NewDealer(ctx) // zmq4 makes up an identity
	dial(t, a, endpoint(r))
	dial(t, b, endpoint(r))
	long := bytes.Repeat([]byte("x"), 300) // a long frame (8-byte size)
	if err := a.SendMulti(zmq4.NewMsgFrom([]byte("hello"), long)); err != nil {
		t.Fatal(err)
	}
	got := recv(t, r, 5*time.Second)
	if len(got) != 3 || string(got[0]) != "client-a" || string(got[1]) != "hello" || !bytes.Equal(got[2], long) {
		t.Fatalf("ROUTER got %q; want [client-a hello x*300]", got)
	}
	if err := b.Send(zmq4.NewMsgString("from b")); err != nil {
		t.Fatal(err)
	}
	gb := recv(t, r, 5*time.Second)
	if len(gb) != 2 || len(gb[0]) == 0 || string(gb[1]) != "from b" {
		t.Fatalf("ROUTER got %q; want b's identity and \"from b\"", gb)
	}
	// Replies are routed by identity.
	for _, tc := range []struct {
		id   []byte
		peer zmq4.Socket
	}{{[]byte("client-a"), a}, {gb[0], b}} {
		if err := r.Send([][]byte{tc.id, []byte("reply to " + string(tc.id))}); err != nil {
			t.Fatal(err)
		}
		m := recv(t, zrecv{tc.peer}, 5*time.Second)
		if len(m) != 1 || string(m[0]) != "reply to "+string(tc.id) {
			t.Errorf("peer %q got %q", tc.id, m)
		}
	}
	// A message to an unknown identity is dropped without error.
	if err := r.Send([][]byte{[]byte("nobody"), []byte("x")}); err != nil {
		t.Errorf("send to unknown peer: %v; want nil (dropped)", err)
	}
}

func TestPubSub(t *testing.T) {
	p := listen(t, Pub, Options{})
	ctx := t.Context()
	all, some := zmq4.NewSub(ctx), zmq4.NewSub(ctx)
	dial(t, all, endpoint(p))
	dial(t, some, endpoint(p))
	all.SetOption(zmq4.OptionSubscribe, "")
	some.SetOption(zmq4.OptionSubscribe, "kernel.x.")
	// Subscriptions reach the PUB asynchronously: publish until both see
	// a message.
	waitSub(t, p, all, "kernel.x.status")
	waitSub(t, p, some, "kernel.x.status")
	p.Send([][]byte{[]byte("other.topic"), []byte("1")})
	p.Send([][]byte{[]byte("kernel.x.stream"), []byte("2")})
	m := recv(t, zrecv{all}, 5*time.Second)
	for string(m[1]) == "probe" {
		m = recv(t, zrecv{all}, 5*time.Second)
	}
	if string(m[0]) != "other.topic" {
		t.Errorf("subscriber to everything got %q first; want other.topic", m)
	}
	m = recv(t, zrecv{some}, 5*time.Second)
	for string(m[1]) == "probe" {
		m = recv(t, zrecv{some}, 5*time.Second)
	}
	if string(m[0]) != "kernel.x.stream" || string(m[1]) != "2" {
		t.Errorf("prefix subscriber got %q; want [kernel.x.stream 2] (other.topic filtered out)", m)
	}
}

// waitSub publishes topic until sub receives it.
func waitSub(t *testing.T, p *Socket, sub zmq4.Socket, topic string) {
	t.Helper()
	got := make(chan struct{})
	go func() {
		for {
			m, err := sub.Recv()
			if err != nil || string(m.Frames[0]) == topic {
				close(got)
				return
			}
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		p.Send([][]byte{[]byte(topic), []byte("probe")})
		select {
		case <-got:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription to %q never took effect", topic)
		}
	}
}

func TestRepReq(t *testing.T) {
	r := listen(t, Rep, Options{})
	q := zmq4.NewReq(t.Context())
	dial(t, q, endpoint(r))
	go func() {
		for {
			m, err := r.Recv()
			if err != nil {
				return
			}
			r.Send(m)
		}
	}()
	for _, ping := range []string{"ping", "\x00binary\xff", ""} {
		if err := q.Send(zmq4.NewMsgString(ping)); err != nil {
			t.Fatal(err)
		}
		m := recv(t, zrecv{q}, 5*time.Second)
		if len(m) != 1 || string(m[0]) != ping {
			t.Errorf("echo of %q: got %q", ping, m)
		}
	}
}

// rawPeer opens a TCP connection and performs the client side of the ZMTP
// handshake by hand (so that tests can then send what no library would).
func rawPeer(t *testing.T, s *Socket, socketType string, handshake bool) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if !handshake {
		return nc
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(greeting())
	var g [64]byte
	if _, err := io.ReadFull(nc, g[:]); err != nil {
		t.Fatal(err)
	}
	props := encodeProps(map[string]string{"Socket-Type": socketType})
	body := command("READY", props)
	nc.Write(append([]byte{flagCommand, byte(len(body))}, body...))
	// The server's READY.
	var h [2]byte
	io.ReadFull(nc, h[:])
	io.ReadFull(nc, make([]byte, h[1]))
	nc.SetDeadline(time.Time{})
	return nc
}

// hugeHeader is a long frame header declaring size bytes.
func hugeHeader(size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flagLong}, size)
}

// TestHugeFrameHeader: a peer declaring a 1 TB frame — as its first bytes,
// as its READY command, or as a message after the handshake — is
// disconnected without the allocation, and the socket keeps serving.
func TestHugeFrameHeader(t *testing.T) {
	r := listen(t, Router, Options{})
	for _, tc := range []struct {
		name      string
		handshake bool
		send      []byte
	}{
		{"instead of a greeting", false, hugeHeader(1 << 40)},
		{"as the READY command", false, append(greeting(), append([]byte{flagCommand | flagLong}, hugeHeader(1 << 40)[1:]...)...)},
		{"message after handshake", true, hugeHeader(1 << 40)},
		{"just over the limit", true, hugeHeader(DefaultMaxMessageBytes)},
		{"max uint64", true, hugeHeader(^uint64(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := rawPeer(t, r, "DEALER", tc.handshake)
			nc.Write(tc.send)
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			// The server closes the connection (after its greeting and
			// READY, which it sends first).
			if _, err := io.Copy(io.Discard, nc); err != nil {
				t.Errorf("connection not closed by the server: %v", err)
			}
		})
	}
	if u := r.opt.Budget.Used(); u != 0 {
		t.Errorf("budget still holds %d bytes after the peers left", u)
	}
	// Still serving.
	d := zmq4.NewDealer(t.Context(), zmq4.WithID(zmq4.SocketIdentity("ok")))
	dial(t, d, endpoint(r))
	d.Send(zmq4.NewMsgString("still here"))
	if m := recv(t, r, 5*time.Second); string(m[1]) != "still here" {
		t.Errorf("got %q", m)
	}
}

// TestBudgetEvictsLargest: a peer that sends most of a large message and
// stalls holds budget; when a small request needs room, the large one is
// dropped and the small one gets through.
func TestBudgetEvictsLargest(t *testing.T) {
	b := NewBudget(1 << 20)
	r := listen(t, Router, Options{Budget: b})
	big := rawPeer(t, r, "DEALER", true)
	big.Write(hugeHeader(900 << 10))
	big.Write(make([]byte, 800<<10)) // then nothing more
	for deadline := time.Now().Add(5 * time.Second); b.Used() < 800<<10; {
		if time.Now().After(deadline) {
			t.Fatalf("budget used %d; want the big message's 800 KiB charged", b.Used())
		}
		time.Sleep(5 * time.Millisecond)
	}
	small := rawPeer(t, r, "DEALER", true)
	msg := make([]byte, 300<<10)
	small.Write(append(hugeHeader(uint64(len(msg))), msg...))
	m := recv(t, r, 5*time.Second)
	if len(m) != 2 || len(m[1]) != len(msg) {
		t.Fatalf("got %d frames; want the small peer's message", len(m))
	}
	big.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, big); err != nil {
		t.Errorf("the stalled big sender was not disconnected: %v", err)
	}
	if u := b.Used(); u > 1<<20 {
		t.Errorf("budget used %d > limit", u)
	}
}

// TestStalledSubscriber: a subscriber that never reads loses messages past
// its queue bound; another subscriber gets every message, and Send never
// blocks.
func TestStalledSubscriber(t *testing.T) {
	p := listen(t, Pub, Options{SendHWM: 1000, SendQueueBytes: 8 << 20})
	stalled := rawPeer(t, p, "SUB", true)
	sub := append([]byte{1}, "kernel"...)
	stalled.Write(append([]byte{0, byte(len(sub))}, sub...))
	// Make the kernel-side TCP buffers small so the stall shows quickly.
	if tc, ok := stalled.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	good := zmq4.NewSub(t.Context())
	dial(t, good, endpoint(p))
	good.SetOption(zmq4.OptionSubscribe, "")
	waitSub(t, p, good, "kernel.warmup")
	for deadline := time.Now().Add(5 * time.Second); p.Peers() < 2 || !subscribedAll(p); {
		if time.Now().After(deadline) {
			t.Fatal("stalled subscriber never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	payload := bytes.Repeat([]byte("y"), 64<<10)
	const n = 500 // 32 MiB in all: far past the stalled peer's socket buffers and queue
	var read atomic.Int64
	got := make(chan int, 1)
	go func() {
		k := 0
		for k < n {
			m, err := good.Recv()
			if err != nil {
				break
			}
			if string(m.Frames[0]) == "kernel.data" {
				k++
				read.Store(int64(k))
			}
		}
		got <- k
	}()
	var sendTime time.Duration
	for i := range n {
		// Paced the way a kernel's output is: never more than 32
		// messages (2 MiB) ahead of the reading subscriber.
		for deadline := time.Now().Add(10 * time.Second); int64(i)-read.Load() > 32; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("reading subscriber stuck at %d of %d", read.Load(), i)
			}
		}
		start := time.Now()
		if err := p.Send([][]byte{[]byte("kernel.data"), []byte(fmt.Sprint(i)), payload}); err != nil {
			t.Fatal(err)
		}
		sendTime += time.Since(start)
	}
	if sendTime > 2*time.Second {
		t.Errorf("Send took %v in all; it must not wait for a stalled peer", sendTime)
	}
	select {
	case k := <-got:
		if k != n {
			t.Errorf("reading subscriber got %d of %d messages", k, n)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("reading subscriber did not get all %d messages within 20s", n)
	}
	p.mu.Lock()
	dropped := 0
	for c := range p.conns {
		c.qmu.Lock()
		dropped += c.dropped
		if c.qbytes > p.opt.SendQueueBytes || len(c.queue) > p.opt.SendHWM {
			t.Errorf("a peer's queue holds %d messages, %d bytes; bounds %d, %d", len(c.queue), c.qbytes, p.opt.SendHWM, p.opt.SendQueueBytes)
		}
		c.qmu.Unlock()
	}
	p.mu.Unlock()
	if dropped == 0 {
		t.Errorf("no message was dropped for the stalled subscriber; the test did not stall it")
	}
}

func subscribedAll(p *Socket) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if !c.subscribed([]byte("kernel.data")) {
			return false
		}
	}
	return true
}

func TestWrongPeerType(t *testing.T) {
	p := listen(t, Pub, Options{})
	d := zmq4.NewDealer(context.Background())
	defer d.Close()
	d.Dial(endpoint(p)) // zmq4 may or may not report the refusal
	time.Sleep(100 * time.Millisecond)
	if n := p.Peers(); n != 0 {
		t.Errorf("PUB accepted a DEALER: %d peers", n)
	}
}
