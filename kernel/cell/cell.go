package cell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// InputFunc asks the frontend for a line of input; password hides the typing.
type InputFunc func(prompt string, password bool) (string, error)

type binding struct {
	ctx   context.Context
	input InputFunc
}

var (
	mu  sync.RWMutex
	cur = binding{ctx: context.Background()}
)

// Bind makes ctx and input those of the running cell until restore is
// called. It is for the kernel: the interpreter binds each cell it executes.
// A nil ctx means context.Background(); a nil input means "read standard
// input". Safe for concurrent use; restore reinstates the previous binding.
func Bind(ctx context.Context, input InputFunc) (restore func()) {
	if ctx == nil {
		ctx = context.Background()
	}
	mu.Lock()
	prev := cur
	cur = binding{ctx: ctx, input: input}
	mu.Unlock()
	return func() {
		mu.Lock()
		cur = prev
		mu.Unlock()
	}
}

// Context returns the running cell's context, cancelled when the user
// interrupts the kernel; context.Background() outside a kernel.
func Context() context.Context {
	mu.RLock()
	defer mu.RUnlock()
	return cur.ctx
}

// Interrupted reports whether the running cell's context is cancelled, for
// loops in cells that want to stop early between steps.
func Interrupted() bool { return Context().Err() != nil }

// ErrNoInput is returned (wrapped) when no input can be read: the frontend
// does not allow stdin, or standard input is closed.
var ErrNoInput = errors.New("cell: no input available")

// Input shows prompt and returns the line the user types (without the
// newline). In a kernel it asks the frontend (input_request); outside it reads
// standard input.
func Input(prompt string) (string, error) { return read(prompt, false) }

// Password is Input with the typed text hidden by the frontend.
func Password(prompt string) (string, error) { return read(prompt, true) }

var stdin = struct {
	sync.Mutex
	r *bufio.Reader
}{}

func read(prompt string, password bool) (string, error) {
	mu.RLock()
	in := cur.input
	mu.RUnlock()
	if in != nil {
		s, err := in(prompt, password)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoInput, err)
		}
		return s, nil
	}
	stdin.Lock()
	defer stdin.Unlock()
	if stdin.r == nil {
		stdin.r = bufio.NewReader(os.Stdin)
	}
	fmt.Fprint(os.Stdout, prompt)
	s, err := stdin.r.ReadString('\n')
	if err != nil && s == "" {
		return "", fmt.Errorf("%w: %v", ErrNoInput, err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}
