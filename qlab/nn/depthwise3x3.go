package nn

// Direct 3x3, stride-1, padding-1 depthwise kernels: the common case in
// depthwise-separable networks. Each output element is computed in one
// pass with the nine weights in registers (the general path in
// depthwise.go makes nine passes over the output row). Rows outside the
// image read from a zero row; the first and last columns are handled apart
// so the inner loop has no bounds tests.

// conv3x3Plane sets (or, with accumulate, adds to) out, an h x w plane, the
// correlation of in (h x w, zero-padded by 1) with the 3x3 kernel wt, plus
// bias. zero must hold at least w zeros. Requires w >= 2.
func conv3x3Plane(out, in []float32, h, w int, wt *[9]float32, bias float32, accumulate bool, zero []float32) {
	zero = zero[:w]
	if useSIMD && w%8 == 0 {
		acc := 0
		if accumulate {
			acc = 1
		}
		for oy := 0; oy < h; oy++ {
			r0, r2 := zero, zero
			if oy > 0 {
				r0 = in[(oy-1)*w : oy*w]
			}
			if oy+1 < h {
				r2 = in[(oy+1)*w : (oy+2)*w]
			}
			conv3x3RowAVX2(&out[oy*w], &r0[0], &in[oy*w], &r2[0], w, &wt[0], bias, acc)
		}
		return
	}
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], wt[7], wt[8]
	for oy := 0; oy < h; oy++ {
		r0, r1, r2 := zero, in[oy*w:(oy+1)*w], zero
		if oy > 0 {
			r0 = in[(oy-1)*w : oy*w]
		}
		if oy+1 < h {
			r2 = in[(oy+1)*w : (oy+2)*w]
		}
		o := out[oy*w : (oy+1)*w]
		r0, r1, r2 = r0[:len(o)], r1[:len(o)], r2[:len(o)]
		b0, bl := bias, bias
		if accumulate {
			b0, bl = o[0], o[w-1]
		}
		first := b0 + w1*r0[0] + w2*r0[1] + w4*r1[0] + w5*r1[1] + w7*r2[0] + w8*r2[1]
		last := bl + w0*r0[w-2] + w1*r0[w-1] + w3*r1[w-2] + w4*r1[w-1] + w6*r2[w-2] + w7*r2[w-1]
		for ox := 1; ox < len(o)-1; ox++ {
			s := bias
			if accumulate {
				s = o[ox]
			}
			s += w0*r0[ox-1] + w1*r0[ox] + w2*r0[ox+1]
			s += w3*r1[ox-1] + w4*r1[ox] + w5*r1[ox+1]
			s += w6*r2[ox-1] + w7*r2[ox] + w8*r2[ox+1]
			o[ox] = s
		}
		o[0], o[w-1] = first, last
	}
}

// grad3x3Plane returns, for one plane, g[ky*3+kx] = Σ dy[oy][ox] *
// in[oy+ky-1][ox+kx-1] (zero outside), the weight gradient of
// conv3x3Plane. Requires w >= 2.
func grad3x3Plane(dy, in []float32, h, w int, zero []float32) (g [9]float32) {
	zero = zero[:w]
	if useSIMD && w%8 == 0 {
		// Eight lanes per tap, summed in a fixed order at the end.
		var acc [9][8]float32
		for oy := 0; oy < h; oy++ {
			for ky := 0; ky < 3; ky++ {
				iy := oy + ky - 1
				if iy < 0 || iy >= h {
					continue
				}
				grad3RowAVX2(&acc[ky*3][0], &dy[oy*w], &in[iy*w], w)
			}
		}
		for i, a := range acc {
			g[i] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
		}
		return g
	}
	for oy := 0; oy < h; oy++ {
		d := dy[oy*w : (oy+1)*w]
		for ky := 0; ky < 3; ky++ {
			iy := oy + ky - 1
			if iy < 0 || iy >= h {
				continue
			}
			r := in[iy*w : (iy+1)*w]
			r = r[:len(d)]
			// Columns: kx=0 reads r[ox-1], kx=1 r[ox], kx=2 r[ox+1].
			var a0, a1, a2 float32
			a1 += d[0] * r[0]
			a2 += d[0] * r[1]
			for ox := 1; ox < len(d)-1; ox++ {
				v := d[ox]
				a0 += v * r[ox-1]
				a1 += v * r[ox]
				a2 += v * r[ox+1]
			}
			a0 += d[w-1] * r[w-2]
			a1 += d[w-1] * r[w-1]
			g[ky*3] += a0
			g[ky*3+1] += a1
			g[ky*3+2] += a2
		}
	}
	return g
}
