package interp

import (
	"context"
	"testing"
)

// BenchmarkLoop10M runs a 10-million-iteration interpreted loop in a cell.
func BenchmarkLoop10M(b *testing.B) {
	in := newInterp(b, Options{})
	r := newRecorder()
	for i := 0; i < b.N; i++ {
		if _, err := in.Execute(context.Background(), "s := 0\nfor i := 0; i < 10000000; i++ { s += i }\ns", r); err != nil {
			b.Fatal(err)
		}
	}
}
