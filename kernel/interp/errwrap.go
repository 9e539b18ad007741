package interp

import (
	"errors"
	"reflect"
	"unsafe"

	yaegi "github.com/traefik/yaegi/interp"
)

// A cell's error reaches compiled code (fmt.Errorf's %w, errors.Is, a
// function returning error) inside the struct yaegi makes to implement
// error, whose only method is Error: compiled errors.Is, errors.As and
// errors.Unwrap do not see the error's Unwrap, Is and As methods, so
// errors.Is(err, fs.ErrNotExist) is false through a cell's QueryError that
// wraps it. yaegi picks the wrapper among the "composed" ones that mapTypes
// lists for its own error wrapper (getWrapper in use.go): the first whose
// methods, named by its fields after the first (W + name), the value has.
// These wrappers add Unwrap, Is and As. Their method fields are typed any,
// so that one wrapper serves Unwrap() error and Unwrap() []error (the
// latter is passed on as errors.Join of the list, which errors.Is and
// errors.As walk the same way).

type errorUIA struct {
	IValue  any
	WError  func() string
	WUnwrap any
	WIs     any
	WAs     any
}

type errorUI struct {
	IValue  any
	WError  func() string
	WUnwrap any
	WIs     any
}

type errorUA struct {
	IValue  any
	WError  func() string
	WUnwrap any
	WAs     any
}

type errorIA struct {
	IValue any
	WError func() string
	WIs    any
	WAs    any
}

type errorU struct {
	IValue  any
	WError  func() string
	WUnwrap any
}

type errorI struct {
	IValue any
	WError func() string
	WIs    any
}

type errorA struct {
	IValue any
	WError func() string
	WAs    any
}

func (w errorUIA) Error() string        { return w.WError() }
func (w errorUIA) Unwrap() error        { return callUnwrap(w.WUnwrap) }
func (w errorUIA) Is(target error) bool { return callIs(w.WIs, target) }
func (w errorUIA) As(target any) bool   { return callAs(w.WAs, target) }
func (w errorUI) Error() string         { return w.WError() }
func (w errorUI) Unwrap() error         { return callUnwrap(w.WUnwrap) }
func (w errorUI) Is(target error) bool  { return callIs(w.WIs, target) }
func (w errorUA) Error() string         { return w.WError() }
func (w errorUA) Unwrap() error         { return callUnwrap(w.WUnwrap) }
func (w errorUA) As(target any) bool    { return callAs(w.WAs, target) }
func (w errorIA) Error() string         { return w.WError() }
func (w errorIA) Is(target error) bool  { return callIs(w.WIs, target) }
func (w errorIA) As(target any) bool    { return callAs(w.WAs, target) }
func (w errorU) Error() string          { return w.WError() }
func (w errorU) Unwrap() error          { return callUnwrap(w.WUnwrap) }
func (w errorI) Error() string          { return w.WError() }
func (w errorI) Is(target error) bool   { return callIs(w.WIs, target) }
func (w errorA) Error() string          { return w.WError() }
func (w errorA) As(target any) bool     { return callAs(w.WAs, target) }

func callUnwrap(f any) error {
	switch f := f.(type) {
	case func() error:
		return f()
	case func() []error:
		return errors.Join(f()...)
	}
	return nil
}

func callIs(f any, target error) bool {
	if f, ok := f.(func(error) bool); ok {
		return f(target)
	}
	return false
}

func callAs(f any, target any) bool {
	if f, ok := f.(func(any) bool); ok {
		return f(target)
	}
	return false
}

// errorWrappers are the composed wrappers, most methods first.
var errorWrappers = []reflect.Type{
	reflect.TypeOf(errorUIA{}), reflect.TypeOf(errorUI{}), reflect.TypeOf(errorUA{}), reflect.TypeOf(errorIA{}),
	reflect.TypeOf(errorU{}), reflect.TypeOf(errorI{}), reflect.TypeOf(errorA{}),
}

// registerErrorWrappers lists errorWrappers in yi's mapTypes under its
// error wrapper. yaegi keeps both maps unexported: they are reached by
// field name, and nothing is done when the layout is not the expected one
// (errors then keep yaegi's own wrapper).
func registerErrorWrappers(yi *yaegi.Interpreter) {
	s := reflect.ValueOf(yi).Elem()
	bin, mt := s.FieldByName("binPkg"), s.FieldByName("mapTypes")
	if !bin.IsValid() || !mt.IsValid() || bin.Type() != reflect.TypeOf(yaegi.Exports{}) ||
		mt.Type() != reflect.TypeOf(map[reflect.Value][]reflect.Type{}) {
		return
	}
	pkgs := *(*yaegi.Exports)(unsafe.Pointer(bin.UnsafeAddr()))
	types := *(*map[reflect.Value][]reflect.Type)(unsafe.Pointer(mt.UnsafeAddr()))
	w, ok := pkgs[""]["_error"]
	if !ok || types == nil {
		return
	}
	types[w] = errorWrappers
}
