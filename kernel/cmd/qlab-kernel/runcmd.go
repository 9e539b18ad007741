package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/notebook"
)

// runArgs are the arguments of qlab-kernel run. Flags may come before or
// after the notebooks, as with papermill.
type runArgs struct {
	notebooks []string
	out       string
	params    map[string]string
	timeout   time.Duration
}

func parseRunArgs(args []string) (runArgs, error) {
	ra := runArgs{params: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			ra.notebooks = append(ra.notebooks, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "" { // "--": the rest are notebooks
			ra.notebooks = append(ra.notebooks, args[i+1:]...)
			break
		}
		if !hasVal {
			if i+1 >= len(args) {
				return ra, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "out", "o":
			ra.out = val
		case "param", "p":
			k, v, ok := strings.Cut(val, "=")
			if !ok || k == "" {
				return ra, fmt.Errorf("--param %q is not key=value", val)
			}
			ra.params[k] = v
		case "timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return ra, fmt.Errorf("--timeout %q is not a duration like 90s or 10m", val)
			}
			ra.timeout = d
		default:
			return ra, fmt.Errorf("unknown flag -%s", name)
		}
	}
	if len(ra.notebooks) == 0 {
		return ra, errors.New("no notebook given")
	}
	return ra, nil
}

func cmdRun(args []string) int {
	ra, err := parseRunArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel run: %v\n%s", err, usage)
		return 2
	}
	if ra.out != "" {
		if err := os.MkdirAll(ra.out, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "qlab-kernel run: %v\n", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed := 0
	for _, path := range ra.notebooks {
		if err := runNotebook(ctx, path, ra); err != nil {
			fmt.Fprintf(os.Stderr, "qlab-kernel run: %v\n", err)
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// runNotebook runs one notebook in a fresh interpreter and writes it, also
// when a cell failed (the error output shows where).
func runNotebook(ctx context.Context, path string, ra runArgs) error {
	nb, err := notebook.ReadFile(path)
	if err != nil {
		return err
	}
	if err := notebook.InjectParameters(nb, ra.params); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	setKernelMetadata(nb)
	ev, err := interp.New(interp.Options{CaptureFD: true})
	if err != nil {
		return err
	}
	start := time.Now()
	runErr := notebook.Run(ctx, ev, nb, notebook.RunOptions{Name: path, Timeout: ra.timeout})
	ev.Close()
	dest := path
	if ra.out != "" {
		dest = filepath.Join(ra.out, filepath.Base(path))
	}
	if err := notebook.WriteFile(dest, nb); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return fmt.Errorf("%w (outputs so far written to %s)", runErr, dest)
	}
	fmt.Fprintf(os.Stderr, "qlab-kernel run: %s → %s (%.1fs)\n", path, dest, time.Since(start).Seconds())
	return nil
}

// setKernelMetadata records the kernel and language in a notebook that
// does not name them, so frontends reopen it with this kernel.
func setKernelMetadata(nb *notebook.Notebook) {
	if _, ok := nb.Metadata["kernelspec"]; !ok {
		nb.Metadata["kernelspec"] = map[string]any{"name": "qlab", "display_name": "Go (qlab)", "language": "go"}
	}
	if _, ok := nb.Metadata["language_info"]; !ok {
		nb.Metadata["language_info"] = map[string]any{"name": "go", "mimetype": "text/x-go",
			"file_extension": ".go", "pygments_lexer": "go", "codemirror_mode": "go"}
	}
}
