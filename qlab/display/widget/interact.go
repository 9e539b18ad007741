package widget

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Interactive is a function shown with its controls: the controls above,
// the function's latest result below, recomputed whenever a control
// changes. Make one with Interact.
type Interactive struct {
	box      *Box
	out      *Output
	f        reflect.Value
	controls []Control

	mu     sync.Mutex
	result any
	err    error
	runs   int
}

var errorType = reflect.TypeOf((*error)(nil)).Elem()

// Interact calls f with the controls' values (in order: int for IntSlider,
// float64 for FloatSlider, string for Dropdown and Text, bool for Checkbox,
// or any type they convert to) and shows its result below the controls; on
// each change of a control it calls f again and replaces the result in
// place. f returns one value, shown with display.Auto (a figure, a table,
// text), optionally followed by an error, shown as text instead. End the
// cell with the returned *Interactive to show it.
//
// It is an error when f is not a function, its parameters do not match the
// controls, or it returns something else.
func Interact(f any, controls ...Control) (*Interactive, error) {
	fv := reflect.ValueOf(f)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return nil, fmt.Errorf("widget: Interact: want a function, got %T", f)
	}
	ft := fv.Type()
	if ft.IsVariadic() || ft.NumIn() != len(controls) {
		return nil, fmt.Errorf("widget: Interact: function %v takes %d arguments; got %d controls", ft, ft.NumIn(), len(controls))
	}
	for i, c := range controls {
		if c == nil {
			return nil, fmt.Errorf("widget: Interact: control %d is nil", i)
		}
		vt := reflect.TypeOf(c.Interface())
		if !convertible(vt, ft.In(i)) {
			return nil, fmt.Errorf("widget: Interact: argument %d of %v is %v; control %d gives %v", i, ft, ft.In(i), i, vt)
		}
	}
	switch {
	case ft.NumOut() == 1:
	case ft.NumOut() == 2 && ft.Out(1) == errorType:
	default:
		return nil, fmt.Errorf("widget: Interact: function %v must return a value, or a value and an error", ft)
	}
	in := &Interactive{out: NewOutput(), f: fv, controls: append([]Control(nil), controls...)}
	children := make([]Widget, 0, len(controls)+1)
	for _, c := range controls {
		children = append(children, c)
	}
	box, err := NewVBox(append(children, in.out)...)
	if err != nil {
		return nil, err
	}
	in.box = box
	if err := in.Update(); err != nil {
		return nil, err
	}
	for _, c := range controls {
		c.OnChange(func() {
			if err := in.Update(); err != nil {
				logf("Interact: %v", err)
			}
		})
	}
	return in, nil
}

// Update calls the function with the controls' current values and shows
// its result. A panic or an error of the function is shown in place of the
// result and returned by Err; Update's own error is about showing it.
func (in *Interactive) Update() error {
	args := make([]reflect.Value, len(in.controls))
	for i, c := range in.controls {
		args[i] = reflect.ValueOf(c.Interface()).Convert(in.f.Type().In(i))
	}
	res, err := in.call(args)
	in.mu.Lock()
	in.result, in.err = res, err
	in.runs++
	in.mu.Unlock()
	if err != nil {
		return in.out.Show(display.Text("error: " + err.Error()))
	}
	return in.out.Show(res)
}

func (in *Interactive) call(args []reflect.Value) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	out := in.f.Call(args)
	if len(out) == 2 && !out[1].IsNil() {
		return nil, out[1].Interface().(error)
	}
	if !out[0].IsValid() {
		return nil, errors.New("no result")
	}
	return out[0].Interface(), nil
}

// Result returns the function's latest result (nil after an error).
func (in *Interactive) Result() any {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.result
}

// Err returns the function's latest error or panic, nil when it succeeded.
func (in *Interactive) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

// Runs returns how many times the function ran.
func (in *Interactive) Runs() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.runs
}

// Output returns the area the results are shown in.
func (in *Interactive) Output() *Output { return in.out }

// ModelID returns the model id of the box holding the controls and the
// output.
func (in *Interactive) ModelID() string { return in.box.ModelID() }

// Render returns the box's view bundle; its text form is the controls'
// and the result's.
func (in *Interactive) Render() display.Data { return in.box.Render() }

// String is the text form.
func (in *Interactive) String() string { return in.box.String() }

// convertible reports whether a control's value of type from can be passed
// as to: assignable, the same kind (a named string or int type), or one
// number type to another. Not int to string, which Go would turn into a
// rune.
func convertible(from, to reflect.Type) bool {
	if from.AssignableTo(to) {
		return true
	}
	if !from.ConvertibleTo(to) {
		return false
	}
	return from.Kind() == to.Kind() || numeric(from.Kind()) && numeric(to.Kind())
}

func numeric(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}
