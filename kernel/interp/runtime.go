package interp

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

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

// runtimeExports is runtimeSymbols plus what reports to in: GoPanic.
func runtimeExports(in *Interpreter) yaegi.Exports {
	syms := map[string]reflect.Value{}
	for k, v := range runtimeSymbols["qlabrt/qlabrt"] {
		syms[k] = v
	}
	syms["GoPanic"] = reflect.ValueOf(in.goPanic)
	syms["Len"] = reflect.ValueOf(checkedLen)
	syms["Fmt"] = reflect.ValueOf(fmtOf)
	syms["FmtAny"] = reflect.ValueOf(fmtAny)
	syms["TypeName"] = reflect.ValueOf(typeNameOf)
	syms["FmtType"] = reflect.ValueOf((*FmtType)(nil))
	syms["FmtField"] = reflect.ValueOf((*FmtField)(nil))
	syms["State"] = reflect.ValueOf((*fmt.State)(nil))
	syms["ErrorTree"] = reflect.ValueOf(errorTree)
	syms["RunDeferred"] = reflect.ValueOf(runDeferred)
	return yaegi.Exports{"qlabrt/qlabrt": syms}
}

// GoroutinePanic is how a panic in a goroutine started by a cell is
// reported: on the standard error of the running cell, or of the next cell
// when none runs. The kernel and its state stay (a Go program would exit).
type GoroutinePanic struct{ Value any }

func (p GoroutinePanic) String() string {
	msg := fmt.Sprint(p.Value)
	if m, ok := goError(msg); ok {
		msg = "runtime error: " + m
	}
	return "panic in a goroutine started by a cell: " + msg + "\n(the goroutine stopped; the kernel and its state are kept)\n"
}

// goPanic is qlabrt.GoPanic: the deferred recovery of every goroutine a
// cell starts (rewrite.go, goStmt). v is recover()'s value.
func (in *Interpreter) goPanic(v any) {
	if v == nil {
		return
	}
	p := GoroutinePanic{v}
	in.cellMu.Lock()
	c := in.cell
	if c == nil {
		in.goPanics = append(in.goPanics, p)
	}
	in.cellMu.Unlock()
	if c != nil {
		c.out.Stream("stderr", p.String())
	}
}

// reportGoPanics writes the goroutine panics that happened between cells
// to the standard error of out (the cell about to run).
func (in *Interpreter) reportGoPanics(out interface{ Stream(name, text string) }) {
	in.cellMu.Lock()
	ps := in.goPanics
	in.goPanics = nil
	in.cellMu.Unlock()
	for _, p := range ps {
		out.Stream("stderr", "before this cell: "+p.String())
	}
}

// memAvailable returns the memory the system can still give, in bytes
// (MemAvailable of /proc/meminfo), or 0 when unknown.
func memAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// maxSliceBytes bounds a slice made by a cell when the available memory is
// unknown.
const maxSliceBytes = 64 << 30

// checkedLen is qlabrt.Len(n, []T(nil)): n as an int, after checking that
// a []T of n elements fits in the memory available. Go ends the process on
// an allocation it cannot satisfy; the cell gets a panic naming the size
// instead, and the kernel keeps its state.
func checkedLen(n any, like any) int {
	v := reflect.ValueOf(n)
	var size uint64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return int(v.Int()) // make reports it
		}
		size = uint64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		size = v.Uint()
	default:
		panic(fmt.Sprintf("make: size of type %T is not an integer", n))
	}
	elem := uint64(1)
	if t := reflect.TypeOf(like); t != nil && t.Kind() == reflect.Slice {
		elem = max(uint64(t.Elem().Size()), 1)
	}
	bytes := size * elem
	if size != 0 && bytes/size != elem || bytes > 256<<20 {
		limit := memAvailable()
		if limit == 0 {
			limit = maxSliceBytes
		}
		if room := dataRoom(); room > 0 {
			limit = min(limit, room)
		}
		if bytes/elem != size || bytes > limit {
			panic(fmt.Errorf("make: %d elements of %d bytes (%s) exceed the %s of memory available: refused (Go would end the kernel with a fatal out-of-memory error)", size, elem, byteSize(float64(size)*float64(elem)), byteSize(float64(limit))))
		}
	}
	return int(size)
}

// byteSize writes n bytes in binary units.
func byteSize(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
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
