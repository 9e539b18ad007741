package analysis

import (
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

func TestChannelMismatch(t *testing.T) {
	// Tensor range [-1, 7] = 8 (zero included). Channel ranges 8, 4, 1, 0.5
	// (with 0 included): bits lost 0, 1, 3, 4.
	mins := []float64{-1, 0, 0.2, -0.5}
	maxs := []float64{7, 4, 1, -0.1}
	m, err := ChannelMismatch(mins, maxs, MismatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Mismatch{Channels: 4, TensorRange: 8, RatioMin: 1.0 / 16, RatioMedian: (0.125 + 0.5) / 2, RatioMax: 1,
		BitsLostMean: 2, BitsLostMedian: 2, BitsLostMax: 4}
	if m != want {
		t.Errorf("got %+v; want %+v", m, want)
	}
	// Raw ranges: channel 2 is [0.2, 1] = 0.8, tensor [-1, 7].
	r, tr, _ := ChannelRanges(mins, maxs, MismatchOptions{ExcludeZero: true})
	if math.Abs(r[2]-0.8) > 1e-15 || tr != 8 {
		t.Errorf("raw ranges: got %v, %v", r, tr)
	}
	if _, err := ChannelMismatch([]float64{1}, []float64{0}, MismatchOptions{}); err == nil {
		t.Errorf("min > max: got nil error")
	}
	dead, _ := ChannelMismatch([]float64{0, 0}, []float64{0, 2}, MismatchOptions{})
	if dead.ZeroRange != 1 || dead.BitsLostMax != 0 {
		t.Errorf("dead channel: got %+v", dead)
	}
}

func TestLayerStatsTables(t *testing.T) {
	x := tensor.New(2, 3, 4)
	for i := range x.Data {
		c := (i / 4) % 3
		x.Data[i] = float32(c+1) * float32(i%4) // channel c spans [0, 3(c+1)]
	}
	a, _ := NewAccumulator(Options{PerChannel: true})
	if err := a.AddTensor(x); err != nil {
		t.Fatal(err)
	}
	var s LayerStats
	s.Name = "acts"
	s.Add("conv1", "Conv2D", a)
	tb := s.Table()
	if tb.Len() != 1 || tb.Rows[0][0] != "conv1" {
		t.Fatalf("table: %v", tb)
	}
	if mx, _ := tb.Floats("max"); mx[0] != 9 {
		t.Errorf("max: got %v; want 9", mx[0])
	}
	ch := s.ChannelTable()
	bits, _ := ch.Floats("bits_lost")
	want := []float64{math.Log2(3), math.Log2(1.5), 0}
	for i := range want {
		if math.Abs(bits[i]-want[i]) > 1e-12 {
			t.Errorf("channel %d bits lost: got %v; want %v", i, bits[i], want[i])
		}
	}
	mm, err := s.MismatchTable()
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := mm.Floats("ratio_min"); math.Abs(r[0]-1.0/3) > 1e-12 {
		t.Errorf("ratio_min: got %v; want 1/3", r[0])
	}
}
