//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// useSIMD selects the AVX2+FMA kernels in kernels_amd64.s.
var useSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sumsAVX2(x *float32, n int, shift float32) (s, ss float64)

//go:noescape
func affineAVX2(y, x *float32, n int, scale, shift float32)

//go:noescape
func affineClampAVX2(y, z, x *float32, n int, scale, shift, hi float32)

//go:noescape
func clampAVX2(z, x *float32, n int, hi float32)

//go:noescape
func dotDevAVX2(d, x, mask *float32, n int, m float32, limit uint32) (s, sx float64)

//go:noescape
func backApplyAVX2(dx, d, x, mask *float32, n int, k, a, b float32, limit uint32)

//go:noescape
func im2col3RowsAVX2(d0, d1, d2, s *float32, w, rows int)

//go:noescape
func maxPool2RowAVX2(dst, r0, r1 *float32, n int)

//go:noescape
func conv3x3RowAVX2(out, r0, r1, r2 *float32, w int, wt *float32, bias float32, acc int)

//go:noescape
func grad3RowAVX2(acc, d, r *float32, w int)
