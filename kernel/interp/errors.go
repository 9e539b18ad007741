package interp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// CellError is a cell's failure, in the shape Jupyter's error reply wants.
// kernel/jupyter detects it through the methods Ename, Evalue and Traceback.
type CellError struct {
	// Name is the kind of failure: "compile error", "panic", "runtime error",
	// "unsupported", "Interrupted".
	Name string
	// Value is the message, with positions mapped to cell lines.
	Value string
	// Trace is the traceback, one frame or line per entry, innermost first,
	// with positions as cell lines.
	Trace []string
}

// Error returns "Name: Value".
func (e *CellError) Error() string { return e.Name + ": " + e.Value }

// Ename returns the kind of failure.
func (e *CellError) Ename() string { return e.Name }

// Evalue returns the message.
func (e *CellError) Evalue() string { return e.Value }

// Traceback returns the traceback lines; the first line restates the error.
func (e *CellError) Traceback() []string {
	return append([]string{e.Error()}, e.Trace...)
}

// Error kinds (Ename).
const (
	ErrCompile     = "compile error"
	ErrPanic       = "panic"
	ErrRuntime     = "runtime error"
	ErrUnsupported = "unsupported"
	ErrInterrupted = "Interrupted"
)

// posRE matches yaegi's "line:col: " prefixes (optionally after a file
// name such as "_.go:").
var posRE = regexp.MustCompile(`(?:[\w.]*\.go:)?(\d+):(\d+)`)

// mapPositions rewrites yaegi positions "L:C" in msg into cell positions
// "line L-1:C". Every chunk is evaluated after one more newline than its cell
// line (see (*Interpreter).evalSrc), so yaegi's line L is the cell's L-1.
// A line past the cell's last (an error at the end of yaegi's wrapper, such
// as an unclosed parenthesis) is reported as the last line, maxLine, at its
// end.
func mapPositions(msg string, maxLine int) string {
	return posRE.ReplaceAllStringFunc(msg, func(m string) string {
		sm := posRE.FindStringSubmatch(m)
		l, err1 := strconv.Atoi(sm[1])
		c, err2 := strconv.Atoi(sm[2])
		if err1 != nil || err2 != nil || l < 2 {
			return m
		}
		if maxLine > 0 && l-1 > maxLine {
			return fmt.Sprintf("line %d (end of cell)", maxLine)
		}
		return fmt.Sprintf("line %d:%d", l-1, c)
	})
}

// panicFrameRE matches the frames yaegi prints when a panic unwinds
// interpreted code: "4:3: panic: main.g(...)".
var panicFrameRE = regexp.MustCompile(`^(\d+):(\d+): panic: (.*)$`)

// frames turns yaegi's panic frame lines into traceback entries.
func frames(lines []string) []string {
	var out []string
	for _, l := range lines {
		m := panicFrameRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		ln, _ := strconv.Atoi(m[1])
		fn := strings.TrimSuffix(m[3], "(...)")
		if fn == "main" {
			fn = "cell"
		}
		out = append(out, fmt.Sprintf("  at line %d:%s in %s", ln-1, m[2], fn))
	}
	return out
}
