package interp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// inputOutput is a recorder whose Input answers from lines, refuses as the
// kernel does without allow_stdin, or blocks until ctx is done (the
// kernel's Input returns when the cell is interrupted).
type inputOutput struct {
	*recorder
	lines   []string
	refuse  bool
	block   context.Context
	prompts int
}

func (o *inputOutput) Input(prompt string, password bool) (string, error) {
	o.prompts++
	switch {
	case o.refuse:
		return "", jupyter.ErrStdinNotAllowed
	case o.block != nil:
		<-o.block.Done()
		return "", o.block.Err()
	case len(o.lines) == 0:
		return "", errors.New("no more lines")
	}
	l := o.lines[0]
	o.lines = o.lines[1:]
	return l, nil
}

// Issue 10, item 6 (stdin): reads of os.Stdin in a cell ask the frontend
// for a line when it accepts input, fail with an error saying it does not
// otherwise, and a pending read ends when the cell is interrupted.
func TestStdinReadsAskTheFrontend(t *testing.T) {
	for _, tc := range []struct {
		name, cell string
		lines      []string
		want       string
		prompts    int
	}{
		{"fmt.Scanln", "var s string\nfmt.Scanln(&s)\ns", []string{"hello"}, `"hello"`, 1},
		{"fmt.Scan, two lines", "var a, b int\nfmt.Scan(&a)\nfmt.Scan(&b)\na + b", []string{"40", "2"}, "42", 2},
		{"fmt.Scan, one line", "var a, b int\nfmt.Scan(&a, &b)\na * b", []string{"6 7"}, "42", 1},
		{"fmt.Scanf", "var n int\nvar w string\nfmt.Scanf(\"%d %s\", &n, &w)\nw + fmt.Sprint(n)", []string{"3 go"}, `"go3"`, 1},
		{"bufio.Reader", "rd := bufio.NewReader(os.Stdin)\nline, _ := rd.ReadString('\\n')\nline", []string{"a line"}, `"a line\n"`, 1},
		{"bufio.Scanner", "sc := bufio.NewScanner(os.Stdin)\nsc.Scan()\nsc.Text()", []string{"scanned"}, `"scanned"`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInterp(t, Options{})
			if _, err := in.Execute(context.Background(), "import (\n\"bufio\"\n\"fmt\"\n\"os\"\n)", newRecorder()); err != nil {
				t.Fatal(err)
			}
			out := &inputOutput{recorder: newRecorder(), lines: tc.lines}
			d, err := in.Execute(context.Background(), tc.cell, out)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if d == nil || d.Text() != tc.want {
				t.Errorf("got %v; want %s", d, tc.want)
			}
			if out.prompts != tc.prompts {
				t.Errorf("%d input requests; want %d", out.prompts, tc.prompts)
			}
		})
	}
	t.Run("not allowed", func(t *testing.T) {
		in := newInterp(t, Options{})
		out := &inputOutput{recorder: newRecorder(), refuse: true}
		d, err := in.Execute(context.Background(), "import \"fmt\"\nvar s string\n_, err := fmt.Scanln(&s)\nerr", out)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil || !strings.Contains(d.Text(), "allow_stdin is false") {
			t.Errorf("fmt.Scanln's error %v; want one saying allow_stdin is false", d)
		}
		if got := out.text("stderr"); !strings.Contains(got, "allow_stdin is false") {
			t.Errorf("stderr %q; want the note that input is not accepted", got)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		in := newInterp(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		out := &inputOutput{recorder: newRecorder(), block: ctx}
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := in.Execute(ctx, "import \"fmt\"\nvar s string\nfmt.Scanln(&s)\nfor {}", out)
		var ce *CellError
		if !errors.As(err, &ce) || ce.Name != ErrInterrupted {
			t.Fatalf("error %v; want %s", err, ErrInterrupted)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("interrupt took %v", el)
		}
		d, err, _ := run(t, in, "1 + 1")
		if err != nil || d == nil || d.Text() != "2" {
			t.Errorf("after the interrupt: %v, %v", d, err)
		}
	})
}
