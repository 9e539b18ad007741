package interp

import (
	"context"
	"testing"
)

// BenchmarkExecutePrintNoTypes runs a cell printing an int in a session
// without types: no type checking for printing.
func BenchmarkExecutePrintNoTypes(b *testing.B) {
	in := newInterp(b, Options{})
	r := newRecorder()
	if _, err := in.Execute(context.Background(), "import \"fmt\"\nn := 3", r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := in.Execute(context.Background(), "fmt.Println(n)", r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecutePrint runs a cell printing an int and a value of a cell
// type with a String method, in a session that declared the type: the
// rewriting pass type-checks it and describes the cell type to fmt.
func BenchmarkExecutePrint(b *testing.B) {
	in := newInterp(b, Options{})
	r := newRecorder()
	if _, err := in.Execute(context.Background(), "import \"fmt\"\ntype Color int\nfunc (c Color) String() string { return \"red\" }\nn := 3\nc := Color(1)", r); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, cell string }{
		{"int", "fmt.Println(n)"},
		{"cell-type", "fmt.Println(n, c)"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := in.Execute(context.Background(), tc.cell, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
