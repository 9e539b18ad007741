package quant

import (
	"math/rand/v2"
	"testing"
)

// TestMaxPool2RowAVX2 checks the assembly row kernel of the 2x2 integer max
// pool against the portable loop.
func TestMaxPool2RowAVX2(t *testing.T) {
	if !hasMaxU8AVX2 {
		t.Skip("no AVX2 (or purego): the portable loop is the only path")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ ow, c int }{{1, 32}, {16, 32}, {8, 64}, {4, 128}, {3, 96}} {
		r0, r1 := make([]uint8, 2*tc.ow*tc.c), make([]uint8, 2*tc.ow*tc.c)
		for i := range r0 {
			r0[i], r1[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
		}
		got := make([]uint8, tc.ow*tc.c+1)
		got[tc.ow*tc.c] = 77
		maxPool2RowAVX2(&got[0], &r0[0], &r1[0], tc.ow, tc.c)
		for i := 0; i < tc.ow; i++ {
			for j := 0; j < tc.c; j++ {
				want := max(r0[2*i*tc.c+j], r0[(2*i+1)*tc.c+j], r1[2*i*tc.c+j], r1[(2*i+1)*tc.c+j])
				if got[i*tc.c+j] != want {
					t.Fatalf("ow %d c %d: pixel %d channel %d = %d; want %d", tc.ow, tc.c, i, j, got[i*tc.c+j], want)
				}
			}
		}
		if got[tc.ow*tc.c] != 77 {
			t.Fatalf("ow %d c %d: wrote past the row", tc.ow, tc.c)
		}
	}
}
