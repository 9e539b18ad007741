//go:build !amd64 || purego

package nn

// useSIMD is false: there are no assembly kernels on this build, and the
// stubs below are never called.
var useSIMD = false

func sumsAVX2(x *float32, n int, shift float32) (s, ss float64)         { panic("unreachable") }
func affineAVX2(y, x *float32, n int, scale, shift float32)             { panic("unreachable") }
func affineClampAVX2(y, z, x *float32, n int, scale, shift, hi float32) { panic("unreachable") }
func clampAVX2(z, x *float32, n int, hi float32)                        { panic("unreachable") }
func dotDevAVX2(d, x, mask *float32, n int, m float32, limit uint32) (s, sx float64) {
	panic("unreachable")
}
func backApplyAVX2(dx, d, x, mask *float32, n int, k, a, b float32, limit uint32) {
	panic("unreachable")
}

func im2col3RowsAVX2(d0, d1, d2, s *float32, w, rows int) { panic("unreachable") }

func maxPool2RowAVX2(dst, r0, r1 *float32, n int) { panic("unreachable") }

func conv3x3RowAVX2(out, r0, r1, r2 *float32, w int, wt *float32, bias float32, acc int) {
	panic("unreachable")
}

func grad3RowAVX2(acc, d, r *float32, w int) { panic("unreachable") }
