package zmtp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"
)

// Type is a socket type.
type Type int

// The socket types the kernel binds.
const (
	Router Type = iota // shell, control, stdin: replies are routed by the first frame, the peer's identity
	Pub                // IOPub: messages go to every peer subscribed to a prefix of the first frame
	Rep                // heartbeat: each request is answered by the next Send
)

func (t Type) String() string {
	switch t {
	case Router:
		return "ROUTER"
	case Pub:
		return "PUB"
	case Rep:
		return "REP"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// accepts reports whether a peer of socket type peer may connect.
func (t Type) accepts(peer string) bool {
	switch t {
	case Router:
		return peer == "DEALER" || peer == "REQ" || peer == "ROUTER"
	case Pub:
		return peer == "SUB" || peer == "XSUB"
	case Rep:
		return peer == "REQ" || peer == "DEALER"
	}
	return false
}

// Defaults of Options' zero fields.
const (
	// DefaultMaxMessageBytes bounds one received message: the Jupyter
	// kernel's 64 MiB bound on a message plus room for identities.
	DefaultMaxMessageBytes = 64<<20 + 64<<10
	DefaultMaxFrames       = 4096
	DefaultSendHWM         = 1000
	DefaultSendQueueBytes  = 32 << 20
	DefaultHandshake       = 10 * time.Second
)

// Options configures a socket. The zero value is a working configuration.
type Options struct {
	// MaxMessageBytes bounds a received message (its frames' bytes plus
	// 64 bytes a frame); a peer that sends a larger one is disconnected.
	// 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int
	// MaxFrames bounds the frames of a received message; 0 means
	// DefaultMaxFrames.
	MaxFrames int
	// Budget bounds received bytes across connections (see Budget); nil
	// means a Budget of DefaultBudget for this socket alone.
	Budget *Budget
	// SendHWM and SendQueueBytes bound each peer's queue of messages not
	// yet written to it; a message that would exceed either is dropped
	// for that peer. 0 means DefaultSendHWM and DefaultSendQueueBytes.
	SendHWM, SendQueueBytes int
	// Handshake bounds the ZMTP greeting and READY exchange of a new
	// connection; 0 means DefaultHandshake.
	Handshake time.Duration
	// Log receives connection errors and drops; nil discards them.
	Log *log.Logger
}

// ErrClosed is returned by Recv and Send after Close.
var ErrClosed = errors.New("zmtp: socket closed")

// Socket is a bound ZeroMQ socket. Recv and Send may be called from
// different goroutines, Send from several at once.
type Socket struct {
	typ  Type
	opt  Options
	ln   net.Listener
	in   chan delivery
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	conns  map[*conn]struct{}
	byID   map[string]*conn // Router: peers by identity
	nextID uint32
	reply  *delivery // Rep: the request the next Send answers
	wg     sync.WaitGroup
}

// delivery is one received message on its way to Recv.
type delivery struct {
	c        *conn
	frames   [][]byte
	envelope [][]byte // Rep: the routing frames up to the empty delimiter
	charged  int
}

// Listen binds a socket of type t to endpoint, "tcp://host:port" or
// "ipc://path", and accepts peers until Close.
func Listen(t Type, endpoint string, opt Options) (*Socket, error) {
	network, addr, ok := strings.Cut(endpoint, "://")
	switch {
	case !ok:
		return nil, fmt.Errorf("zmtp: endpoint %q has no transport://", endpoint)
	case network == "ipc":
		network = "unix"
	case network != "tcp":
		return nil, fmt.Errorf("zmtp: endpoint %q: transport %q is not tcp or ipc", endpoint, network)
	}
	if opt.MaxMessageBytes <= 0 {
		opt.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opt.MaxFrames <= 0 {
		opt.MaxFrames = DefaultMaxFrames
	}
	if opt.Budget == nil {
		opt.Budget = NewBudget(0)
	}
	if opt.SendHWM <= 0 {
		opt.SendHWM = DefaultSendHWM
	}
	if opt.SendQueueBytes <= 0 {
		opt.SendQueueBytes = DefaultSendQueueBytes
	}
	if opt.Handshake <= 0 {
		opt.Handshake = DefaultHandshake
	}
	if opt.Log == nil {
		opt.Log = log.New(io.Discard, "", 0)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("zmtp: %w", err)
	}
	s := &Socket{typ: t, opt: opt, ln: ln, in: make(chan delivery, 16), done: make(chan struct{}),
		conns: map[*conn]struct{}{}, byID: map[string]*conn{}}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr is the address the socket is bound to.
func (s *Socket) Addr() net.Addr { return s.ln.Addr() }

// Type is the socket's type.
func (s *Socket) Type() Type { return s.typ }

func (s *Socket) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.opt.Log.Printf("zmtp %s: accept: %v", s.typ, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		c := newConn(s, nc)
		s.mu.Lock()
		closed := s.isClosed()
		if !closed {
			s.conns[c] = struct{}{}
		}
		s.mu.Unlock()
		if closed {
			nc.Close()
			return
		}
		s.wg.Go(c.run)
	}
}

func (s *Socket) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Recv returns the next message from any peer. On a Router socket the
// first frame is the peer's identity; on a Rep socket the request's routing
// envelope is kept for the next Send.
func (s *Socket) Recv() ([][]byte, error) {
	select {
	case d := <-s.in:
		s.opt.Budget.free(d.charged)
		if s.typ == Rep {
			s.mu.Lock()
			s.reply = &d
			s.mu.Unlock()
		}
		return d.frames, nil
	case <-s.done:
		return nil, ErrClosed
	}
}

// Send sends a message. Router: the first frame names the peer (a message
// to an unknown peer is dropped, as libzmq does). Pub: every peer
// subscribed to a prefix of the first frame gets it. Rep: it answers the
// last request Recv returned. A peer whose queue is full does not get the
// message; Send never waits for a peer. frames must not be modified after
// Send.
func (s *Socket) Send(frames [][]byte) error {
	if s.isClosed() {
		return ErrClosed
	}
	switch s.typ {
	case Router:
		if len(frames) < 2 {
			return errors.New("zmtp: ROUTER message needs an identity frame and a body")
		}
		s.mu.Lock()
		c := s.byID[string(frames[0])]
		s.mu.Unlock()
		if c != nil {
			c.enqueue(frames[1:])
		}
	case Pub:
		if len(frames) == 0 {
			return errors.New("zmtp: empty message")
		}
		s.mu.Lock()
		var to []*conn
		for c := range s.conns {
			if c.subscribed(frames[0]) {
				to = append(to, c)
			}
		}
		s.mu.Unlock()
		for _, c := range to {
			c.enqueue(frames)
		}
	case Rep:
		s.mu.Lock()
		d := s.reply
		s.reply = nil
		s.mu.Unlock()
		if d == nil {
			return errors.New("zmtp: REP Send without a request")
		}
		d.c.enqueue(append(append([][]byte(nil), d.envelope...), frames...))
	}
	return nil
}

// Close stops accepting, disconnects every peer and makes Recv return
// ErrClosed.
func (s *Socket) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		for {
			select {
			case d := <-s.in:
				s.opt.Budget.free(d.charged)
				continue
			default:
			}
			break
		}
	})
	return err
}

// Peers returns the number of connected peers that completed the
// handshake.
func (s *Socket) Peers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.ready {
			n++
		}
	}
	return n
}

// conn is one peer.
type conn struct {
	s  *Socket
	nc net.Conn
	id []byte // Router: the peer's identity

	// guarded by s.mu
	ready bool

	evicted bool // set under the budget's lock

	subMu sync.Mutex
	subs  map[string]int // Pub: subscribed prefixes (a count, as subscriptions nest)

	qmu     sync.Mutex
	queue   [][][]byte
	qbytes  int
	dropped int
	wake    chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func newConn(s *Socket, nc net.Conn) *conn {
	return &conn{s: s, nc: nc, subs: map[string]int{}, wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

// evict disconnects the peer to free budget; called under the budget's lock.
func (c *conn) evict() { c.nc.Close() }

func (c *conn) close() {
	c.once.Do(func() {
		close(c.closed)
		c.nc.Close()
	})
}

// run handshakes, then reads messages until the connection ends.
func (c *conn) run() {
	s := c.s
	defer func() {
		c.close()
		s.opt.Budget.drop(c)
		s.mu.Lock()
		delete(s.conns, c)
		if c.id != nil && s.byID[string(c.id)] == c {
			delete(s.byID, string(c.id))
		}
		s.mu.Unlock()
	}()
	rd := &reader{r: bufio.NewReaderSize(c.nc, 16<<10), maxBytes: s.opt.MaxMessageBytes, maxFrames: s.opt.MaxFrames,
		charge: func(n int) error { return s.opt.Budget.charge(c, n) }, release: func(n int) { s.opt.Budget.release(c, n) }}
	if err := c.handshake(rd); err != nil {
		if !s.isClosed() {
			s.opt.Log.Printf("zmtp %s: %s: handshake: %v", s.typ, c.nc.RemoteAddr(), err)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Go(c.write)
	defer wg.Wait()
	defer c.close()
	for {
		frames, cmd, err := rd.readMessage()
		if err != nil {
			if !s.isClosed() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.opt.Log.Printf("zmtp %s: %s: %v", s.typ, c.nc.RemoteAddr(), err)
			}
			return
		}
		if cmd {
			s.opt.Budget.drop(c)
			if !c.command(frames[0]) {
				return
			}
			continue
		}
		charged := s.opt.Budget.settle(c)
		if !c.deliver(frames, charged) {
			return
		}
	}
}

// deliver passes a received message on according to the socket type,
// reporting false when the socket is closed.
func (c *conn) deliver(frames [][]byte, charged int) bool {
	s := c.s
	d := delivery{c: c, charged: charged}
	switch s.typ {
	case Router:
		d.frames = append([][]byte{c.id}, frames...)
	case Pub:
		// ZMTP 3.0 subscriptions: a one-frame message, 1 or 0 then the
		// prefix. Anything else from a subscriber is ignored.
		s.opt.Budget.free(charged)
		if len(frames) == 1 && len(frames[0]) > 0 && frames[0][0] <= 1 {
			c.subscribe(frames[0][1:], frames[0][0] == 1)
		}
		return true
	case Rep:
		i := 0
		for i < len(frames) && len(frames[i]) > 0 {
			i++
		}
		if i == len(frames) {
			// No delimiter: not a request (libzmq drops it too).
			s.opt.Budget.free(charged)
			return true
		}
		d.envelope, d.frames = frames[:i+1], frames[i+1:]
	}
	select {
	case s.in <- d:
		return true
	case <-s.done:
		s.opt.Budget.free(charged)
		return false
	case <-c.closed:
		s.opt.Budget.free(charged)
		return false
	}
}

func (c *conn) subscribe(prefix []byte, on bool) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	k := string(prefix)
	if on {
		c.subs[k]++
		return
	}
	if c.subs[k] > 1 {
		c.subs[k]--
	} else {
		delete(c.subs, k)
	}
}

func (c *conn) subscribed(topic []byte) bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for p := range c.subs {
		if bytes.HasPrefix(topic, []byte(p)) {
			return true
		}
	}
	return false
}

// command handles a command after the handshake, reporting false when the
// connection should end.
func (c *conn) command(body []byte) bool {
	name, data, err := splitCommand(body)
	if err != nil {
		c.s.opt.Log.Printf("zmtp %s: %s: %v", c.s.typ, c.nc.RemoteAddr(), err)
		return false
	}
	switch name {
	case "PING":
		// TTL (2 bytes) then a context of at most 16 bytes to echo.
		if len(data) >= 2 {
			ctx := data[2:]
			if len(ctx) > 16 {
				ctx = ctx[:16]
			}
			c.enqueueCommand(command("PONG", ctx))
		}
	case "SUBSCRIBE", "CANCEL":
		if c.s.typ == Pub {
			c.subscribe(data, name == "SUBSCRIBE")
		}
	case "ERROR":
		return false
	}
	return true
}

// splitCommand splits a command body into its name and data.
func splitCommand(body []byte) (string, []byte, error) {
	if len(body) == 0 || int(body[0]) > len(body)-1 {
		return "", nil, fmt.Errorf("%w: malformed command", ErrProtocol)
	}
	n := int(body[0])
	return string(body[1 : 1+n]), body[1+n:], nil
}

// command returns a command body: the name's length, the name, the data.
func command(name string, data []byte) []byte {
	b := make([]byte, 0, 1+len(name)+len(data))
	b = append(b, byte(len(name)))
	b = append(b, name...)
	return append(b, data...)
}

// enqueue queues a message for the peer, or drops it when the peer's queue
// is full.
func (c *conn) enqueue(frames [][]byte) {
	size := 0
	for _, f := range frames {
		size += len(f) + 9
	}
	select {
	case <-c.closed:
		return
	default:
	}
	c.qmu.Lock()
	if len(c.queue) >= c.s.opt.SendHWM || c.qbytes+size > c.s.opt.SendQueueBytes {
		c.dropped++
		if c.dropped == 1 || c.dropped%1000 == 0 {
			c.s.opt.Log.Printf("zmtp %s: %s is not reading: %d messages dropped", c.s.typ, c.nc.RemoteAddr(), c.dropped)
		}
		c.qmu.Unlock()
		return
	}
	c.queue = append(c.queue, frames)
	c.qbytes += size
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueueCommand queues a command (it is never dropped: commands are tiny
// and answer the peer's own).
func (c *conn) enqueueCommand(body []byte) {
	c.qmu.Lock()
	c.queue = append(c.queue, [][]byte{nil, body})
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// write sends queued messages until the connection closes.
func (c *conn) write() {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		c.qmu.Lock()
		q := c.queue
		c.queue, c.qbytes = nil, 0
		c.qmu.Unlock()
		for _, frames := range q {
			var err error
			if len(frames) == 2 && frames[0] == nil {
				err = writeFrame(w, frames[1], false, true)
			} else {
				for i, f := range frames {
					if err = writeFrame(w, f, i < len(frames)-1, false); err != nil {
						break
					}
				}
			}
			if err != nil {
				c.close()
				return
			}
		}
		if err := w.Flush(); err != nil {
			c.close()
			return
		}
	}
}

// The ZMTP 3.0 greeting (RFC 23 §2.3): signature, version 3.0, the NULL
// mechanism, as-server, filler.
func greeting() []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 0
	copy(g[12:32], "NULL")
	return g
}

// handshake exchanges greetings and READY commands, and registers the
// peer.
func (c *conn) handshake(rd *reader) error {
	s := c.s
	c.nc.SetDeadline(time.Now().Add(s.opt.Handshake))
	if _, err := c.nc.Write(greeting()); err != nil {
		return err
	}
	var g [64]byte
	// The first byte tells a ZMTP peer from anything else (a frame header,
	// an HTTP request); fail on it before waiting for more.
	if _, err := io.ReadFull(rd.r, g[:1]); err != nil {
		return err
	}
	if g[0] != 0xff {
		return fmt.Errorf("%w: not a ZMTP 3 greeting", ErrProtocol)
	}
	if _, err := io.ReadFull(rd.r, g[1:]); err != nil {
		return err
	}
	if g[9]&1 != 1 {
		return fmt.Errorf("%w: not a ZMTP 3 greeting", ErrProtocol)
	}
	if g[10] < 3 {
		return fmt.Errorf("%w: peer speaks ZMTP %d.%d; 3.0 or later is needed", ErrProtocol, g[10], g[11])
	}
	if mech := string(bytes.TrimRight(g[12:32], "\x00")); mech != "NULL" {
		return fmt.Errorf("%w: security mechanism %q; only NULL is supported", ErrProtocol, mech)
	}
	props := map[string]string{"Socket-Type": s.typ.String()}
	w := bufio.NewWriter(c.nc)
	if err := writeFrame(w, command("READY", encodeProps(props)), false, true); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// The READY command is small; bound it well below a message.
	hrd := *rd
	hrd.maxBytes, hrd.maxFrames = 64<<10, 1
	frames, cmd, err := hrd.readMessage()
	s.opt.Budget.drop(c)
	if err != nil {
		return err
	}
	if !cmd {
		return fmt.Errorf("%w: message before READY", ErrProtocol)
	}
	name, data, err := splitCommand(frames[0])
	if err != nil {
		return err
	}
	if name == "ERROR" {
		return fmt.Errorf("zmtp: peer refused: %q", data)
	}
	if name != "READY" {
		return fmt.Errorf("%w: %s before READY", ErrProtocol, name)
	}
	peer, err := decodeProps(data)
	if err != nil {
		return err
	}
	if !s.typ.accepts(peer["socket-type"]) {
		reason := fmt.Sprintf("socket type %s cannot talk to %s", peer["socket-type"], s.typ)
		writeFrame(w, command("ERROR", append([]byte{byte(len(reason))}, reason...)), false, true)
		w.Flush()
		return fmt.Errorf("%w: %s", ErrProtocol, reason)
	}
	c.nc.SetDeadline(time.Time{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.typ == Router {
		id := []byte(peer["identity"])
		if len(id) == 0 || id[0] == 0 {
			// libzmq's form for a peer without identity: a zero byte then a
			// counter.
			s.nextID++
			id = binary.BigEndian.AppendUint32([]byte{0}, s.nextID)
		}
		// A reconnecting client takes its identity over from the old
		// connection.
		c.id = id
		s.byID[string(id)] = c
	}
	c.ready = true
	return nil
}

// encodeProps encodes metadata properties (RFC 23 §2.4.1).
func encodeProps(props map[string]string) []byte {
	var b []byte
	for k, v := range props {
		b = append(b, byte(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeProps decodes metadata properties.
func decodeProps(b []byte) (map[string]string, error) {
	props := map[string]string{}
	for len(b) > 0 {
		n := int(b[0])
		if len(b) < 1+n+4 {
			return nil, fmt.Errorf("%w: truncated property", ErrProtocol)
		}
		name := string(b[1 : 1+n])
		b = b[1+n:]
		vl := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(vl) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: property %q longer than its command", ErrProtocol, name)
		}
		// Property names are case-insensitive.
		props[strings.ToLower(name)] = string(b[:vl])
		b = b[vl:]
	}
	return props, nil
}
