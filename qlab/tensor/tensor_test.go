package tensor

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		shape []int
		ok    bool
	}{
		{"matrix", 6, []int{2, 3}, true},
		{"scalar", 1, nil, true},
		{"empty axis", 0, []int{4, 0}, true},
		{"too few", 5, []int{2, 3}, false},
		{"negative", 6, []int{-2, -3}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := From(make([]float32, tc.n), tc.shape...)
			if tc.ok != (err == nil) {
				t.Fatalf("From(%d elements, %v): err = %v; want ok = %v", tc.n, tc.shape, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrShape) {
				t.Errorf("error %v does not wrap ErrShape", err)
			}
			if err == nil && x.Len() != tc.n {
				t.Errorf("Len() = %d; want %d", x.Len(), tc.n)
			}
		})
	}
}

func TestReshape(t *testing.T) {
	x := New(2, 3, 4)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	tests := []struct {
		shape []int
		want  []int
		ok    bool
	}{
		{[]int{6, 4}, []int{6, 4}, true},
		{[]int{-1, 12}, []int{2, 12}, true},
		{[]int{2, -1}, []int{2, 12}, true},
		{[]int{5, -1}, nil, false},
		{[]int{-1, -1}, nil, false},
		{[]int{25}, nil, false},
	}
	for _, tc := range tests {
		y, err := x.Reshape(tc.shape...)
		if tc.ok != (err == nil) {
			t.Fatalf("Reshape(%v): err = %v; want ok = %v", tc.shape, err, tc.ok)
		}
		if err != nil {
			continue
		}
		if !SameShape(y.Shape, tc.want) {
			t.Errorf("Reshape(%v).Shape = %v; want %v", tc.shape, y.Shape, tc.want)
		}
		if &y.Data[0] != &x.Data[0] {
			t.Errorf("Reshape(%v) copied the data; want a view", tc.shape)
		}
	}
}

func TestResizeReusesStorage(t *testing.T) {
	x := New(4, 8)
	p := &x.Data[0]
	x.Resize(2, 8)
	if &x.Data[0] != p || x.Len() != 16 || !SameShape(x.Shape, []int{2, 8}) {
		t.Fatalf("Resize(2, 8): shape %v len %d, same storage %v; want [2 8], 16, true", x.Shape, x.Len(), &x.Data[0] == p)
	}
	if allocs := testing.AllocsPerRun(10, func() { x.Resize(4, 8) }); allocs != 0 {
		t.Errorf("Resize within capacity allocated %v times; want 0", allocs)
	}
	x.Resize(8, 8)
	if x.Len() != 64 {
		t.Errorf("Resize(8, 8): Len() = %d; want 64", x.Len())
	}
}

func TestCloneIsDeep(t *testing.T) {
	x := New(2)
	y := x.Clone()
	y.Data[0] = 1
	y.Shape[0] = 5
	if x.Data[0] != 0 || x.Shape[0] != 2 {
		t.Errorf("changing the clone changed the original: %v", x)
	}
}

func TestCheckFinite(t *testing.T) {
	x := New(3)
	if err := x.CheckFinite(); err != nil {
		t.Fatalf("zeros: %v", err)
	}
	x.Data[2] = float32(math.Inf(-1))
	err := x.CheckFinite()
	if err == nil || !strings.Contains(err.Error(), "element 2") {
		t.Errorf("CheckFinite with -Inf at 2: %v; want an error naming element 2", err)
	}
}

func TestString(t *testing.T) {
	x, _ := From([]float32{-1, 0, 4}, 3)
	if got, want := x.String(), "Tensor[3] min=-1 max=4 mean=1"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}
