package torchio

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"reflect"
	"testing"
)

// TestMaterializeStrided gathers views torch.save keeps as they are: a
// transposed weight, an offset into a shared storage, and a view reaching
// past its storage, which is an error.
func TestMaterializeStrided(t *testing.T) {
	raw := make([]byte, 4*12)
	for i := 0; i < 12; i++ {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(i)))
	}
	st := &storage{dtype: Float32, size: 12, raw: raw}
	cases := []struct {
		name   string
		r      rawTensor
		want   []float32
		errors bool
	}{
		{"contiguous 3x4", rawTensor{st: st, shape: []int{3, 4}, stride: []int{4, 1}}, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false},
		{"transposed 4x3", rawTensor{st: st, shape: []int{4, 3}, stride: []int{1, 4}}, []float32{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, false},
		{"offset row", rawTensor{st: st, offset: 8, shape: []int{4}, stride: []int{1}}, []float32{8, 9, 10, 11}, false},
		{"scalar", rawTensor{st: st, offset: 5, shape: []int{}, stride: []int{}}, []float32{5}, false},
		{"past the end", rawTensor{st: st, offset: 9, shape: []int{4}, stride: []int{1}}, nil, true},
		{"negative offset", rawTensor{st: st, offset: -1, shape: []int{2}, stride: []int{1}}, nil, true},
		{"stride length", rawTensor{st: st, shape: []int{2, 2}, stride: []int{2}}, nil, true},
		{"expanded", rawTensor{st: st, shape: []int{1 << 30}, stride: []int{0}}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.r.materialize("w")
			if c.errors {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("got %v; want ErrFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Floats, c.want) {
				t.Errorf("got %v; want %v", got.Floats, c.want)
			}
		})
	}
}

// FuzzRead: no input makes Read panic, and what it accepts is
// consistent (values match shapes). The seeds are the committed files.
func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/load/refnet-dws.pt", "testdata/load/refnet-dws.safetensors", "testdata/load/refnet-dws-half.pt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := Read(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, x := range sd.Tensors() {
			if err := x.check(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
