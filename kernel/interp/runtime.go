package interp

import (
	"cmp"
	"fmt"
	"reflect"

	yaegi "github.com/traefik/yaegi/interp"
)

// runtimeSymbols is package qlabrt, compiled helpers that rewritten cells
// call (rewrite.go), imported by every interpreter as _qlabrt: the Go 1.21
// builtins min, max and clear, which yaegi v0.16.1 lacks.
var runtimeSymbols = yaegi.Exports{
	"qlabrt/qlabrt": {
		"Clear": reflect.ValueOf(clearValue),

		"MinInt": reflect.ValueOf(minOf[int]), "MaxInt": reflect.ValueOf(maxOf[int]),
		"MinInt8": reflect.ValueOf(minOf[int8]), "MaxInt8": reflect.ValueOf(maxOf[int8]),
		"MinInt16": reflect.ValueOf(minOf[int16]), "MaxInt16": reflect.ValueOf(maxOf[int16]),
		"MinInt32": reflect.ValueOf(minOf[int32]), "MaxInt32": reflect.ValueOf(maxOf[int32]),
		"MinInt64": reflect.ValueOf(minOf[int64]), "MaxInt64": reflect.ValueOf(maxOf[int64]),
		"MinUint": reflect.ValueOf(minOf[uint]), "MaxUint": reflect.ValueOf(maxOf[uint]),
		"MinUint8": reflect.ValueOf(minOf[uint8]), "MaxUint8": reflect.ValueOf(maxOf[uint8]),
		"MinUint16": reflect.ValueOf(minOf[uint16]), "MaxUint16": reflect.ValueOf(maxOf[uint16]),
		"MinUint32": reflect.ValueOf(minOf[uint32]), "MaxUint32": reflect.ValueOf(maxOf[uint32]),
		"MinUint64": reflect.ValueOf(minOf[uint64]), "MaxUint64": reflect.ValueOf(maxOf[uint64]),
		"MinUintptr": reflect.ValueOf(minOf[uintptr]), "MaxUintptr": reflect.ValueOf(maxOf[uintptr]),
		"MinFloat32": reflect.ValueOf(minOf[float32]), "MaxFloat32": reflect.ValueOf(maxOf[float32]),
		"MinFloat64": reflect.ValueOf(minOf[float64]), "MaxFloat64": reflect.ValueOf(maxOf[float64]),
		"MinString": reflect.ValueOf(minOf[string]), "MaxString": reflect.ValueOf(maxOf[string]),
	},
}

// ExitError is the panic value of os.Exit called by a cell: the kernel
// keeps running (and its state), and the cell fails with this error.
type ExitError struct{ Code int }

func (e ExitError) Error() string {
	return fmt.Sprintf("os.Exit(%d) called by the cell: the kernel does not exit; the cell stopped here", e.Code)
}

// withExit returns exports with os.Exit replaced by a panic with ExitError.
func withExit(exports yaegi.Exports) yaegi.Exports {
	osSyms, ok := exports["os/os"]
	if !ok {
		return exports
	}
	cp := make(map[string]reflect.Value, len(osSyms))
	for k, v := range osSyms {
		cp[k] = v
	}
	cp["Exit"] = reflect.ValueOf(func(code int) { panic(ExitError{code}) })
	exports["os/os"] = cp
	return exports
}

// minOf and maxOf are the builtins min and max (NaN and signed zeros as
// the builtins treat them, since they call them).
func minOf[T cmp.Ordered](x T, ys ...T) T {
	for _, y := range ys {
		x = min(x, y)
	}
	return x
}

func maxOf[T cmp.Ordered](x T, ys ...T) T {
	for _, y := range ys {
		x = max(x, y)
	}
	return x
}

// clearValue is the builtin clear of a map or a slice.
func clearValue(x any) {
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		v.Clear()
	}
}
