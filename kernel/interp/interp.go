package interp

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"regexp"

	"go/token"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qlab-dev/qlab/kernel/cell"
	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/kernel/symbols"
	"github.com/qlab-dev/qlab/qlab/display"
	yaegi "github.com/traefik/yaegi/interp"
)

// Options configures an Interpreter. The zero value runs cells with output
// of interpreted fmt/log printing captured and compiled code's writes to
// os.Stdout/os.Stderr left alone.
type Options struct {
	// CaptureFD redirects file descriptors 1 and 2 into pipes while the
	// Interpreter is open, so that everything written to standard output
	// and error — by interpreted code, by compiled packages, by C-less
	// syscall.Write(1, ...) — reaches the running cell's Output.Stream as it
	// is written. Between cells the text goes to the original descriptors.
	// Close restores them. Only one Interpreter per process may capture.
	// False (the default) captures only what interpreted code prints through
	// fmt.Print*, log and print.
	CaptureFD bool

	// FlushTimeout bounds how long Execute waits, after a cell, for output
	// still in the capture pipes while none moves (a long burst still
	// being forwarded is waited for, up to 15 times as long); 0 means 2 s.
	FlushTimeout time.Duration
}

// Interpreter runs cells. It implements kernel/jupyter's Evaluator. Execute
// runs one cell at a time; Complete, Inspect and IsComplete may be called
// while a cell runs.
type Interpreter struct {
	opt Options
	yi  *yaegi.Interpreter
	cap *capture

	mu     sync.Mutex // held while yaegi evaluates (one cell at a time)
	closed bool

	cellMu   sync.Mutex
	cell     *cellState       // the running cell, nil between cells
	goPanics []GoroutinePanic // panics of cells' goroutines between cells
	stdin    *cellStdin       // os.Stdin of cells

	idx   *index // names declared by cells, for completion and inspection
	redef redefs // generations of redefined types (redefine.go)

	// The global frame, to release what cells no longer name (memory.go):
	// nil when yaegi's layout is not the expected one.
	tsess *typeSession     // earlier cells' declarations, for the type checker
	types *reflectImporter // packages for the type checker

	frame      *frameAccess
	frameLen   int
	frameFloor int // frame length of a fresh interpreter: never truncated below
	frameNamed map[int]bool
}

var _ jupyter.Evaluator = (*Interpreter)(nil)

// cellState is what the running cell writes to.
type cellState struct {
	out   jupyter.Output
	code  string   // the cell
	lines int      // lines in the cell
	trace []string // yaegi's panic frames
	cur   chunk    // the chunk being evaluated
}

// helperSrc defines the helper Execute uses to describe a trailing value.
// It is interpreted so that the rich-display interfaces are checked with the
// interpreter's method sets: a type declared in a cell with an HTML() method
// is an HTMLer there, while compiled code sees a bare struct. For each value
// it returns a marker Text("\x00kind"), then an optional "qlab/text" (the
// value's Error() or String()), then either the rich representations or a
// "qlab/value" carrying the value itself; compiled code (merge) builds the
// bundle. The shape avoids yaegi v0.16.1 bugs: an interpreted function
// returning a compiled struct that calls a method through an interface
// assertion on a parameter corrupts its frame, and so does passing a
// composite literal straight to a variadic ...any (non-call expressions are
// therefore first assigned to _qlabV).
const helperSrc = `
import _qlabdisplay "github.com/qlab-dev/qlab/qlab/display"
import _qlabfmt "fmt"
import _qlabrt "qlabrt"

func _qlabShow(vs ...any) []_qlabdisplay.Data {
	out := []_qlabdisplay.Data{}
	for _, v := range vs {
		if v == nil {
			out = append(out, _qlabdisplay.Text("\x00nil"))
			continue
		}
		if e, ok := v.(error); ok {
			out = append(out, _qlabdisplay.Text("\x00error"), _qlabdisplay.MakeData("qlab/text", e.Error()))
		} else {
			out = append(out, _qlabdisplay.Text("\x00value"))
			if s, ok := v.(_qlabfmt.Stringer); ok {
				out = append(out, _qlabdisplay.MakeData("qlab/text", s.String()))
			}
		}
		if x, ok := v.(_qlabdisplay.Renderer); ok {
			out = append(out, x.Render())
			continue
		}
		rich := false
		if x, ok := v.(_qlabdisplay.PNGer); ok {
			out = append(out, _qlabdisplay.PNG(x.PNG()))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.JPEGer); ok {
			out = append(out, _qlabdisplay.JPEG(x.JPEG()))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.SVGer); ok {
			out = append(out, _qlabdisplay.SVG(string(x.SVG())))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.HTMLer); ok {
			out = append(out, _qlabdisplay.HTML(x.HTML()))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.Markdowner); ok {
			out = append(out, _qlabdisplay.Markdown(x.Markdown()))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.LaTeXer); ok {
			out = append(out, _qlabdisplay.LaTeX(x.LaTeX()))
			rich = true
		}
		if x, ok := v.(_qlabdisplay.JSONer); ok {
			out = append(out, _qlabdisplay.JSON(x.JSON()))
			rich = true
		}
		if !rich {
			out = append(out, _qlabdisplay.MakeData("qlab/value", v))
		}
	}
	return out
}
`

// rendered is one value of a trailing expression, rendered.
type rendered struct {
	kind string // "nil", "error" or "value"
	data display.Data
}

const (
	mimeText  display.MIME = "qlab/text"  // the value's Error() or String()
	mimeValue display.MIME = "qlab/value" // the value itself, for display.Auto
)

// merge groups _qlabShow's output into one bundle per value.
func merge(parts []display.Data) []rendered {
	var out []rendered
	var text *string
	finish := func() {
		if len(out) == 0 {
			return
		}
		r := &out[len(out)-1]
		if text != nil {
			r.data.Data[display.MIMEPlain] = *text
		}
		text = nil
	}
	for _, p := range parts {
		if t := p.Text(); len(p.Data) == 1 && strings.HasPrefix(t, "\x00") {
			finish()
			out = append(out, rendered{kind: t[1:], data: display.Data{Data: map[display.MIME]any{}}})
			if t[1:] == "nil" {
				out[len(out)-1].data = display.Text("<nil>")
			}
			continue
		}
		if len(out) == 0 {
			continue
		}
		r := &out[len(out)-1]
		if s, ok := p.Data[mimeText].(string); ok {
			text = &s
			continue
		}
		if v, ok := p.Data[mimeValue]; ok {
			p = display.Auto(v) // Auto unwraps yaegi's interface values
		}
		for k, v := range p.Data {
			if _, have := r.data.Data[k]; k == display.MIMEPlain && have {
				continue // the first representation's text wins
			}
			r.data.Data[k] = v
		}
		for k, v := range p.Metadata {
			if r.data.Metadata == nil {
				r.data.Metadata = map[display.MIME]any{}
			}
			r.data.Metadata[k] = v
		}
		for k, v := range p.Transient {
			if r.data.Transient == nil {
				r.data.Transient = map[string]any{}
			}
			r.data.Transient[k] = v
		}
	}
	finish()
	return out
}

// New returns an Interpreter with the standard library, qlab, gonum/plot and
// the display and cell packages importable.
func New(opt Options) (*Interpreter, error) {
	if opt.FlushTimeout <= 0 {
		opt.FlushTimeout = 2 * time.Second
	}
	in := &Interpreter{opt: opt, idx: newIndex(), tsess: newTypeSession(), types: newReflectImporter(token.NewFileSet())}
	// Values of cell-declared types reach compiled code wrapped by yaegi;
	// display formats what they wrap.
	display.SetUnwrapper(unwrapYaegi)
	if opt.CaptureFD {
		c, err := startCapture()
		if err != nil {
			return nil, err
		}
		in.cap = c
	}
	in.stdin = &cellStdin{in: in}
	in.yi = yaegi.New(yaegi.Options{
		Stdout: &cellWriter{in: in, name: "stdout"},
		Stderr: &cellWriter{in: in, name: "stderr", frames: true},
		Stdin:  in.stdin, // fmt.Scan* read it (yaegi's fixStdlib)
	})
	exports := withStdin(withExit(symbols.Exports()), in)
	exports["."] = mapTypes()["."]
	if err := in.yi.Use(exports); err != nil {
		in.Close()
		return nil, fmt.Errorf("interp: loading symbols: %w", err)
	}
	if err := in.yi.Use(runtimeExports(in)); err != nil {
		in.Close()
		return nil, fmt.Errorf("interp: loading symbols: %w", err)
	}
	if _, err := in.yi.Eval(helperSrc); err != nil {
		in.Close()
		return nil, fmt.Errorf("interp: loading display helpers: %w", err)
	}
	if err := loadGenericHelpers(in.yi); err != nil {
		in.Close()
		return nil, err
	}
	registerErrorWrappers(in.yi)
	if err := loadRewriteHelpers(in.yi); err != nil {
		in.Close()
		return nil, fmt.Errorf("interp: loading rewrite helpers: %w", err)
	}
	if in.frame = newFrameAccess(in.yi); in.frame != nil {
		in.frameLen, in.frameNamed = in.frame.releaseUnnamed(0, nil)
		in.frameFloor = len(*in.frame.types)
	}
	return in, nil
}

// Close restores file descriptors 1 and 2 when they were captured. The
// Interpreter must not be used afterwards.
func (in *Interpreter) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	in.closed = true
	if in.cap != nil {
		in.cap.restore()
		captureActive.Store(false)
	}
	return nil
}

// Stderr returns where the kernel's own diagnostics should go: the original
// standard error when descriptors are captured (so they do not land in a
// cell's output), os.Stderr otherwise.
func (in *Interpreter) Stderr() io.Writer {
	if in.cap != nil {
		return in.cap.origErr
	}
	return os.Stderr
}

// cellWriter is yaegi's stdout or stderr: the running cell's stream (through
// the captured descriptor when capturing, to keep order with compiled
// writes). On stderr it also collects the panic frames yaegi prints.
type cellWriter struct {
	in     *Interpreter
	name   string
	frames bool
}

func (w *cellWriter) Write(p []byte) (int, error) {
	in := w.in
	in.cellMu.Lock()
	c := in.cell
	if w.frames && c != nil && panicFrameRE.Match(trimNL(p)) {
		c.trace = append(c.trace, string(trimNL(p)))
		in.cellMu.Unlock()
		return len(p), nil
	}
	in.cellMu.Unlock()
	if in.cap == nil && c != nil {
		c.out.Stream(w.name, string(p))
		return len(p), nil
	}
	if w.name == "stdout" {
		return os.Stdout.Write(p)
	}
	return os.Stderr.Write(p)
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// Execute runs a cell and returns the bundle of its trailing expression (nil
// when the cell ends in a statement or its trailing expression displays
// nothing). Output goes to out while the cell runs. A failure is a
// *CellError; the Interpreter survives it, and declarations made before the
// failing part of the cell remain.
//
// Which trailing expressions display (IPython displays any expression's
// value; Go calls often return values nobody wants to see):
//   - a non-call expression (x, x+1, p.Title, T{...}): its value, "<nil>"
//     included;
//   - a call returning nothing: nothing;
//   - a call of a printing or writing function — a callee named Print*,
//     Fprint*, Write*, Scan*, Sscan*, Fscan* (fmt.Println, w.Write, ...):
//     nothing, whatever it returns;
//   - a call returning one value: that value, unless it is nil (a call
//     returning a nil error shows nothing);
//   - a call returning several values: when the last is a non-nil error,
//     that error; otherwise a nil last value (a nil error) is dropped and the
//     rest shows, one value alone or several as a (a, b) tuple in text.
//
// Cancelling ctx interrupts the cell: interpreted code stops within about
// 0.3 s, cell.Context() is cancelled so that compiled calls watching it stop,
// and Execute returns a *CellError named "Interrupted". Compiled calls that
// ignore the context keep running in the background.
func (in *Interpreter) Execute(ctx context.Context, code string, out jupyter.Output) (*display.Data, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil, errors.New("interp: Execute on a closed Interpreter")
	}

	cs := &cellState{out: out, code: code, lines: strings.Count(code, "\n") + 1}
	in.cellMu.Lock()
	in.cell = cs
	in.cellMu.Unlock()
	if in.cap != nil {
		in.cap.setSink(out.Stream)
	}
	keepFrame := false
	restoreCell := cell.Bind(ctx, out.Input)
	oldPub := display.SetPublisher(out.Display)
	oldClear := display.SetClearer(out.ClearOutput)
	defer func() {
		if in.frame != nil {
			in.frameLen, in.frameNamed = in.frame.releaseUnnamed(in.frameLen, in.frameNamed)
			if keepFrame {
				// A closure made by the cell's top level writes a slot
				// of the global frame back after each call (yaegi's
				// getFunc): the cell's slots stay.
				in.frameFloor = max(in.frameFloor, len(*in.frame.types))
			}
			in.frameLen = in.frame.truncate(in.frameFloor)
		}
		display.SetPublisher(oldPub)
		display.SetClearer(oldClear)
		restoreCell()
		if in.cap != nil {
			in.cap.flush(in.opt.FlushTimeout)
			in.cap.setSink(nil)
		}
		in.cellMu.Lock()
		in.cell = nil
		in.cellMu.Unlock()
	}()

	in.reportGoPanics(out)
	in.stdin.reset()
	code, _ = in.rewriteCell(code)
	cs.code = code
	chunks, trailing := split(code)
	all := chunks
	if trailing != nil {
		all = append(append([]chunk{}, chunks...), *trailing)
	}
	keepFrame = topLevelClosures(all)
	if err := unsupported(code, all, in.idx.declared); err != nil {
		return nil, err
	}
	plan, err := in.planRedefinition(code, chunks)
	if err != nil {
		return nil, err
	}
	for i, c := range chunks {
		var err error
		if c.kind == chunkImport {
			err = in.evalImports(ctx, c, cs)
		} else if plan != nil && c.kind == chunkDecl {
			err = plan.evalDecl(ctx, c, i, cs)
		} else {
			_, err = in.evalChunk(ctx, c, cs)
		}
		if err != nil {
			plan.abort(ctx)
			return nil, err
		}
		in.idx.record(withComments(c, code))
	}
	in.tsess.record(code)
	if trailing == nil {
		return nil, nil
	}
	return in.evalTrailing(ctx, *trailing, cs)
}

// topLevelClosures reports whether a chunk evaluated in the global frame
// (not a function declaration, nor a compound statement run as the body of
// one) has a function literal.
func topLevelClosures(chunks []chunk) bool {
	for _, c := range chunks {
		if c.kind == chunkImport || c.wrap || !strings.Contains(c.src, "func") {
			continue
		}
		var root ast.Node
		if c.kind == chunkDecl {
			f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+c.src, parser.SkipObjectResolution)
			if err != nil {
				return true
			}
			found := false
			for _, d := range f.Decls {
				if g, ok := d.(*ast.GenDecl); ok {
					ast.Inspect(g, func(n ast.Node) bool {
						_, lit := n.(*ast.FuncLit)
						found = found || lit
						return !found
					})
				}
			}
			if found {
				return true
			}
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), "", "package p;func _(){"+c.src+"\n}", parser.SkipObjectResolution)
		if err != nil {
			return true
		}
		root = f
		found := false
		ast.Inspect(root, func(n ast.Node) bool {
			_, lit := n.(*ast.FuncLit)
			found = found || lit
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// evalSrc positions src for yaegi: one more newline than the chunk's cell
// line (yaegi prepends "package main;" or a func main wrapper on the first
// line) and spaces up to its column, so yaegi's positions are the cell's
// (line + 1, same column).
func evalSrc(c chunk, src string) string {
	return strings.Repeat("\n", c.line) + strings.Repeat(" ", c.col-1) + src
}

func (in *Interpreter) evalChunk(ctx context.Context, c chunk, cs *cellState) (reflect.Value, error) {
	cs.cur = c
	if rd := c.redefine; rd != nil {
		return in.evalRedefinition(ctx, c, cs)
	}
	if c.wrap {
		// Declared as a named function, then called: a func literal called
		// in place would go through reflect, where yaegi's interrupt does
		// not reach (the loop would spin on after Execute returned).
		// "func _qlabW() {" ends the line before the statement, keeping
		// positions.
		decl := strings.Repeat("\n", c.line-1) + "func _qlabW() {\n" + strings.Repeat(" ", c.col-1) + c.src + "\n}"
		if _, err := in.yi.EvalWithContext(ctx, decl); err != nil {
			return reflect.Value{}, in.cellError(ctx, err, cs)
		}
		v, err := in.yi.EvalWithContext(ctx, evalSrc(c, "_qlabW()"))
		if err != nil {
			return v, in.cellError(ctx, err, cs)
		}
		return v, nil
	}
	src, temps := c.src, 0
	if c.kind == chunkDecl {
		src, temps = multiVarDecls(src)
	}
	v, err := in.yi.EvalWithContext(ctx, evalSrc(c, src))
	if err != nil {
		return v, in.cellError(ctx, err, cs)
	}
	in.releaseTemps("_qlabM", temps)
	return v, nil
}

// evalImports evaluates the import specs of c one at a time, skipping those
// already in effect: yaegi rejects importing a package again ("os/_.go
// redeclared in this block"), and re-running a cell with imports is what
// notebook users do all the time.
func (in *Interpreter) evalImports(ctx context.Context, c chunk, cs *cellState) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", "package p\n"+c.src, parser.ImportsOnly)
	if err != nil {
		_, err := in.evalChunk(ctx, c, cs)
		return err
	}
	src := "package p\n" + c.src
	for _, sp := range f.Imports {
		path, _ := strconv.Unquote(sp.Path.Value)
		name := pkgNameOf(path)
		if name == "" {
			name = path[strings.LastIndex(path, "/")+1:]
		}
		if sp.Name != nil {
			name = sp.Name.Name
		}
		if name != "_" && name != "." && in.idx.imported(name, path) {
			continue
		}
		p := fset.Position(sp.Pos())
		text := src[p.Offset:fset.Position(sp.End()).Offset]
		// Spec line in the cell: its line in src minus the added first line.
		spec := chunk{kind: chunkImport, line: c.line + p.Line - 2, col: p.Column}
		if p.Line == 2 {
			spec.col = c.col + p.Column - 1
		}
		// "import" ends the line before the spec, keeping its position.
		isrc := strings.Repeat("\n", spec.line-1) + "import\n" + strings.Repeat(" ", spec.col-1) + text
		if _, err := in.yi.EvalWithContext(ctx, isrc); err != nil {
			return in.cellError(ctx, err, cs)
		}
		// Recorded at once: a later spec of the same cell may fail, and
		// yaegi keeps this import.
		in.idx.addImport(name, path)
	}
	return nil
}

// evalRedefinition evaluates a chunk marked with a redefinition.
func (in *Interpreter) evalRedefinition(ctx context.Context, c chunk, cs *cellState) (reflect.Value, error) {
	rd := c.redefine
	// The right side's line and column in the cell.
	line, col := c.line, c.col
	for _, r := range c.src[:rd.off-c.off] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	// define evaluates "names := rhs" keeping rhs at its cell position: the
	// left side ends the line before it.
	define := func(names []string) (reflect.Value, error) {
		src := strings.Repeat("\n", line-1) + strings.Join(names, ", ") + " :=\n" + strings.Repeat(" ", col-1) + rd.rhs
		return in.yi.EvalWithContext(ctx, src)
	}
	if rd.commaOK {
		return in.evalCommaOK(ctx, c, cs, line, col)
	}
	names := rd.names
	if rd.self {
		names = make([]string, len(rd.names))
		for i := range names {
			names[i] = fmt.Sprintf("_qlabT%d", i)
		}
	}
	v, err := define(names)
	if err != nil && len(names) == 1 && isFrameTypeCrash(err) {
		v, err = in.defineViaInterface(ctx, names[0], line, col, rd.rhs)
	}
	if err != nil {
		return v, in.cellError(ctx, err, cs)
	}
	if rd.self {
		src := strings.Join(rd.names, ", ") + " := " + strings.Join(names, ", ")
		if v, err = in.yi.EvalWithContext(ctx, evalSrc(c, src)); err != nil {
			return v, in.cellError(ctx, err, cs)
		}
		in.releaseTemps("_qlabT", len(names))
	}
	return v, nil
}

// isFrameTypeCrash reports whether err is yaegi's crash when a new global's
// type comes from a generic function's result.
func isFrameTypeCrash(err error) bool {
	var p yaegi.Panic
	return errors.As(err, &p) && strings.Contains(string(p.Stack), "frameType")
}

// defineViaInterface defines name from rhs through an interface-typed
// temporary whose dynamic type then declares name: "_qlabG := any(rhs)",
// "var name T", "name = _qlabG.(T)". rhs runs once; the crash it avoids
// happens while compiling, before anything runs. T is written as reflect
// prints it, which resolves for builtin types and for types of packages
// imported under their own name.
func (in *Interpreter) defineViaInterface(ctx context.Context, name string, line, col int, rhs string) (reflect.Value, error) {
	src := strings.Repeat("\n", line-1) + "_qlabG := any(\n" + strings.Repeat(" ", col-1) + rhs + ")"
	if _, err := in.yi.EvalWithContext(ctx, src); err != nil {
		return reflect.Value{}, err
	}
	g := in.yi.Globals()["_qlabG"]
	for g.IsValid() && g.Kind() == reflect.Interface && !g.IsNil() {
		g = g.Elem()
	}
	if !g.IsValid() || g.Kind() == reflect.Interface {
		return reflect.Value{}, fmt.Errorf("cannot define %s from a nil generic result", name)
	}
	typ := g.Type().String()
	if _, err := in.yi.EvalWithContext(ctx, "var "+name+" "+typ); err != nil {
		return reflect.Value{}, fmt.Errorf("cannot define %s: yaegi cannot hold a generic function's result in a new variable, and its type %s cannot be named here (%v); declare it first: var %s T; %s = ...", name, typ, err, name, name)
	}
	return in.yi.EvalWithContext(ctx, name+" = _qlabG.("+typ+")")
}

// cellError turns an error of yaegi into a *CellError.
func (in *Interpreter) cellError(ctx context.Context, err error, cs *cellState) *CellError {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &CellError{Name: ErrInterrupted, Value: "cell interrupted (" + ctx.Err().Error() + ")"}
	}
	in.cellMu.Lock()
	trace := frames(cs.trace)
	cs.trace = nil
	in.cellMu.Unlock()
	var p yaegi.Panic
	if errors.As(err, &p) {
		name := ErrPanic
		if _, ok := p.Value.(interface{ RuntimeError() }); ok {
			name = ErrRuntime
		} else if s, ok := p.Value.(string); ok && strings.HasPrefix(s, "reflect: ") {
			// yaegi implements indexing and similar through reflect, whose
			// panics are Go's runtime errors in compiled code.
			name = ErrRuntime
		}
		msg := fmt.Sprint(p.Value)
		mapped := false
		if e, ok := p.Value.(ExitError); ok {
			name, msg = "os.Exit", e.Error()
		} else if k, ok := reflectBounds[msg]; ok {
			name = ErrRuntime
			// Go's message has brackets that are not positions.
			msg, trace, _ = in.boundsDetail(k, cs.cur, cs.code, trace)
			mapped = true
		} else if m, ok := goError(msg); ok {
			name, msg = ErrRuntime, m
		} else if name == ErrRuntime {
			// Go's runtime errors say "runtime error: " themselves.
			msg = strings.TrimPrefix(msg, "runtime error: ")
		}
		if !mapped {
			msg = mapPositions(msg, cs.lines)
		}
		return in.redef.explain(explainYaegi(&CellError{Name: name, Value: msg, Trace: trace}, cs.code))
	}
	msg := mapPositions(err.Error(), cs.lines)
	return in.redef.explain(explainYaegi(&CellError{Name: ErrCompile, Value: msg, Trace: trace}, cs.code))
}

// compile is yaegi's Compile with its panics (yaegi crashes on some
// inputs while type-checking) turned into errors, so they cannot end the
// kernel.
func (in *Interpreter) compile(src string) (prog *yaegi.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("yaegi: %v", r)
		}
	}()
	return in.yi.Compile(src)
}

// evalQuiet is yaegi's Eval with panics turned into errors, for the
// side-effect-free lookups of completion and inspection.
func (in *Interpreter) evalQuiet(src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = reflect.Value{}, fmt.Errorf("yaegi: %v", r)
		}
	}()
	return in.yi.Eval(src)
}

// evalTrailing evaluates the cell's last expression and renders its value by
// the rules documented on Execute.
func (in *Interpreter) evalTrailing(ctx context.Context, c chunk, cs *cellState) (*display.Data, error) {
	cs.cur = c
	expr, _ := parser.ParseExpr(c.src)
	call, isCall := unparen(expr).(*ast.CallExpr)
	if isCall && printLike(call) {
		_, err := in.evalChunk(ctx, c, cs)
		return nil, err
	}
	// The wrapper's opening text ends the line before the expression, so
	// the expression keeps its position (see evalSrc).
	wrap := func(open string) string {
		return strings.Repeat("\n", c.line-1) + open + "\n" + strings.Repeat(" ", c.col-1) + c.src + ")"
	}
	var shown string
	if isCall {
		shown = wrap("_qlabShow(")
	} else {
		// A non-call expression has exactly one value; it is stored first
		// because yaegi mishandles composite literals passed to ...any.
		prog, err := in.compile(wrap("_qlabV := ("))
		if err != nil {
			// A non-call expression always has a value: failing to
			// store it is the expression's error (an undefined name, a
			// type error), which yaegi does not report when the
			// expression is evaluated as a statement. yaegi's message
			// for an undefined name is "constant definition loop": the
			// type checker's is preferred when it has one.
			if msg := in.typeError(cs.code); msg != "" {
				return nil, in.redef.explain(&CellError{Name: ErrCompile, Value: msg})
			}
			return nil, in.cellError(ctx, err, cs)
		}
		if _, err := in.yi.ExecuteWithContext(ctx, prog); err != nil {
			return nil, in.cellError(ctx, err, cs)
		}
		shown = "_qlabShow(_qlabV)"
	}
	prog, cerr := in.compile(shown)
	if cerr != nil {
		// No value (a call returning nothing) or an error in the
		// expression: run it as a statement, which reports real errors.
		_, err := in.evalChunk(ctx, c, cs)
		return nil, err
	}
	v, err := in.yi.ExecuteWithContext(ctx, prog)
	if err != nil {
		return nil, in.cellError(ctx, err, cs)
	}
	parts, ok := v.Interface().([]display.Data)
	if !ok {
		return nil, nil
	}
	return pick(merge(parts), isCall), nil
}

// pick applies the display rules documented on Execute to the rendered
// values of the trailing expression.
func pick(rs []rendered, isCall bool) *display.Data {
	switch len(rs) {
	case 0:
		return nil
	case 1:
		if isCall && rs[0].kind == "nil" {
			return nil
		}
		return &rs[0].data
	}
	last := rs[len(rs)-1]
	if last.kind == "error" {
		return &last.data
	}
	if last.kind == "nil" {
		rs = rs[:len(rs)-1]
	}
	if len(rs) == 1 {
		return &rs[0].data
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.data.Text()
	}
	t := display.Text("(" + strings.Join(parts, ", ") + ")")
	return &t
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// printLike reports whether call is of a printing or writing function, whose
// results (a byte count and an error) are not worth displaying.
func printLike(call *ast.CallExpr) bool {
	var name string
	switch f := unparen(call.Fun).(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
	default:
		return false
	}
	for _, p := range []string{"Print", "Fprint", "Write", "Scan", "Sscan", "Fscan"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "print" || name == "println"
}

// goErrors maps the reflect panics by which yaegi reports Go's run-time
// errors to the error Go reports.
var goErrors = map[string]string{
	"reflect.Value.Call: call of nil function": nilDeref,
	"reflect: Method on nil interface value":   nilDeref,
}

const nilDeref = "invalid memory address or nil pointer dereference"

// zeroValueRE matches reflect's panic for a method of the zero Value, which
// is how a nil pointer, interface or function reaches yaegi's reflect calls.
var zeroValueRE = regexp.MustCompile(`^reflect: call of reflect\.Value\.\w+ on zero Value$`)

// goError returns the error Go reports for a reflect panic of yaegi's.
func goError(msg string) (string, bool) {
	if m, ok := goErrors[msg]; ok {
		return m, true
	}
	if k, ok := reflectBounds[msg]; ok {
		return k.String(), true
	}
	if zeroValueRE.MatchString(msg) {
		return nilDeref, true
	}
	return "", false
}
