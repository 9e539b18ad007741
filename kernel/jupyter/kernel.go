package jupyter

import (
	"context"
	"errors"
	"io"
	"log"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Output receives what a running cell emits, in order, while it runs.
type Output interface {
	Stream(name, text string)            // name is "stdout" or "stderr"
	Display(d display.Data, update bool) // display_data, or update_display_data when update
	ClearOutput(wait bool)
	Input(prompt string, password bool) (string, error) // input_request on stdin; error if the frontend doesn't allow stdin
}

// Evaluator runs cells. Execute must return promptly when ctx is cancelled (interrupt).
//
// Cursor positions are in Unicode code points, not bytes. A cell error is
// returned as an error that also implements
// interface{ Ename() string; Evalue() string; Traceback() []string }.
// result is the trailing expression's MIME bundle, nil when the cell ends in
// a statement.
type Evaluator interface {
	Execute(ctx context.Context, code string, out Output) (result *display.Data, err error)
	Complete(code string, cursor int) (matches []string, start, end int)
	Inspect(code string, cursor, detailLevel int) (d display.Data, found bool)
	IsComplete(code string) (status, indent string) // "complete" | "incomplete" | "invalid" | "unknown"
}

// CellError is what the kernel needs of an evaluator's error to report it
// the way IPython does (ename, evalue, traceback lines).
type CellError interface {
	error
	Ename() string
	Evalue() string
	Traceback() []string
}

// ErrStdinNotAllowed is returned by Output.Input when the execute_request
// said allow_stdin false (nbclient, papermill and most non-console clients).
var ErrStdinNotAllowed = errors.New("jupyter: the frontend does not allow input (allow_stdin is false)")

// Config sets up a Kernel. The zero value is a working configuration.
type Config struct {
	// Log receives the kernel's diagnostics (dropped or malformed messages,
	// socket errors); nil means os.Stderr.
	Log io.Writer
	// Banner is kernel_info_reply's banner; "" means a one-line description
	// of qlab with the Go version.
	Banner string
	// ImplementationVersion is kernel_info_reply's implementation_version;
	// "" means "devel".
	ImplementationVersion string
	// HelpLinks are kernel_info_reply's help_links; nil means links to the Go
	// documentation and the standard library.
	HelpLinks []HelpLink
	// MaxMessageBytes bounds an incoming message (frames after the
	// delimiter); 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int
	// Key signs and verifies messages (the connection file's key); empty
	// disables signing, as Jupyter specifies.
	Key []byte
	// StopOnErrorGrace is how long the reply to a cell that failed with
	// stop_on_error is held back so that execute_requests the client sent
	// right behind it arrive and are aborted; 0 means
	// DefaultStopOnErrorGrace, a negative value none.
	StopOnErrorGrace time.Duration
}

// DefaultStopOnErrorGrace is Config.StopOnErrorGrace's default: longer than
// a loaded two-core machine takes to deliver requests a client sends back to
// back (up to ~35 ms measured), short enough not to be noticed on an error.
const DefaultStopOnErrorGrace = 100 * time.Millisecond

// Kernel serves one Evaluator over the Jupyter protocol. Create it with
// NewKernel and run it with Serve; Interrupt may be called from any
// goroutine (a SIGINT handler).
type Kernel struct {
	ev      Evaluator
	cfg     Config
	log     *log.Logger
	signer  Signer
	session string
	socks   Sockets

	// Touched only by the shell goroutine: execution_count, history, and
	// the stop_on_error abort state (see abortable).
	count    int
	hist     history
	failedAt time.Time // when the last failed stop_on_error cell replied; zero when none

	mu         sync.Mutex
	cancelCell context.CancelFunc // cancels the running cell; nil when idle
	stop       context.CancelFunc // ends Serve
	restart    bool

	comms comms // comm.go: targets, open comms, the parent of what they send

	shellQ  chan *queued
	stdinCh chan *Message
	inputMu sync.Mutex
}

// queued is one message read from shell, or why it could not be decoded.
type queued struct {
	msg     *Message
	err     *DecodeError
	arrived time.Time
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.ImplementationVersion == "" {
		cfg.ImplementationVersion = "devel"
	}
	if cfg.Banner == "" {
		cfg.Banner = "qlab " + cfg.ImplementationVersion + " — Go " + runtime.Version() +
			" cells interpreted by yaegi, qlab and gonum compiled in"
	}
	if cfg.HelpLinks == nil {
		cfg.HelpLinks = []HelpLink{
			{Text: "Go documentation", URL: "https://go.dev/doc/"},
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
		}
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	switch {
	case cfg.StopOnErrorGrace == 0:
		cfg.StopOnErrorGrace = DefaultStopOnErrorGrace
	case cfg.StopOnErrorGrace < 0:
		cfg.StopOnErrorGrace = 0
	}
	return cfg
}

// NewKernel returns a kernel serving ev.
func NewKernel(ev Evaluator, cfg Config) *Kernel {
	cfg = cfg.withDefaults()
	w := cfg.Log
	if w == nil {
		w = os.Stderr
	}
	return &Kernel{
		ev:      ev,
		cfg:     cfg,
		log:     log.New(w, "qlab-kernel: ", log.LstdFlags|log.Lmicroseconds),
		signer:  NewSigner(cfg.Key),
		session: newID(),
		shellQ:  make(chan *queued, 1024),
		stdinCh: make(chan *Message, 16),
	}
}

// RestartRequested reports whether the shutdown_request that ended Serve
// asked for a restart.
func (k *Kernel) RestartRequested() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.restart
}

// Interrupt cancels the running cell's context, as interrupt_request does.
// It does nothing when no cell runs.
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancelCell != nil {
		k.cancelCell()
	}
}
