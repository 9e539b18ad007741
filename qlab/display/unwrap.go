package display

import "sync/atomic"

// An Unwrapper returns the Go value a host wraps v in, or v itself. An
// interpreter that hands its own wrapper types to compiled code installs one
// with SetUnwrapper, so that Auto and PlainText format the user's value and
// not the interpreter's internals; this package knows nothing of any
// interpreter.
type Unwrapper func(v any) any

var unwrapper atomic.Pointer[Unwrapper]

// SetUnwrapper installs u (nil removes it) and returns the previous one. It is
// for the kernel. Safe for concurrent use.
func SetUnwrapper(u Unwrapper) Unwrapper {
	var p *Unwrapper
	if u != nil {
		p = &u
	}
	old := unwrapper.Swap(p)
	if old == nil {
		return nil
	}
	return *old
}

func unwrap(v any) any {
	if p := unwrapper.Load(); p != nil {
		return (*p)(v)
	}
	return v
}
