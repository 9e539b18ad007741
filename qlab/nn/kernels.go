package nn

import "math"

// The per-element passes of BatchNorm2D and the activations. Each wrapper
// runs the SIMD kernel (when the CPU has one) over the largest multiple of
// 8 elements and the Go code below over the rest; both compute the same
// expressions, so results agree to rounding (FMA and lane order differ)
// and, for a given CPU, do not depend on how work is split between
// goroutines as long as the same slices are passed.

// simdLen returns how many leading elements of an n-element pass the SIMD
// kernel handles.
func simdLen(n int) int {
	if !useSIMD || n < 8 {
		return 0
	}
	return n &^ 7
}

// sums returns Σ (x-shift) and Σ (x-shift)² in float64.
func sums(x []float32, shift float32) (float64, float64) {
	var s, ss float64
	k := simdLen(len(x))
	if k > 0 {
		s, ss = sumsAVX2(&x[0], k, shift)
	}
	a, b := shiftedSums(x[k:], shift)
	return s + a, ss + b
}

// affine sets y = x*scale + shift.
func affine(y, x []float32, scale, shift float32) {
	y = y[:len(x)]
	k := simdLen(len(x))
	if k > 0 {
		affineAVX2(&y[0], &x[0], k, scale, shift)
	}
	for i := k; i < len(x); i++ {
		y[i] = x[i]*scale + shift
	}
}

// affineClamp sets z = clamp(x*scale + shift, 0, hi), and y = x*scale +
// shift unless y is nil.
func affineClamp(y, z, x []float32, scale, shift, hi float32) {
	z = z[:len(x)]
	if y != nil {
		y = y[:len(x)]
	}
	k := simdLen(len(x))
	if k > 0 {
		var yp *float32
		if y != nil {
			yp = &y[0]
		}
		affineClampAVX2(yp, &z[0], &x[0], k, scale, shift, hi)
	}
	for i := k; i < len(x); i++ {
		v := x[i]*scale + shift
		if y != nil {
			y[i] = v
		}
		z[i] = max(min(v, hi), 0)
	}
}

// clamp sets z = max(min(x, hi), 0); NaNs stay NaN.
func clamp(z, x []float32, hi float32) {
	z = z[:len(x)]
	k := simdLen(len(x))
	if k > 0 {
		clampAVX2(&z[0], &x[0], k, hi)
	}
	for i := k; i < len(x); i++ {
		z[i] = max(min(x[i], hi), 0)
	}
}

// dotDev returns Σ g and Σ g*(x-m) in float64, where g = d, or, when mask
// is not nil, d where mask is inside the activation's linear range (see
// passMask) and 0 elsewhere.
func dotDev(d, x, mask []float32, m float32, limit uint32) (float64, float64) {
	x = x[:len(d)]
	var mp *float32
	if mask != nil {
		mask = mask[:len(d)]
	}
	var s, sx float64
	k := simdLen(len(d))
	if k > 0 {
		if mask != nil {
			mp = &mask[0]
		}
		s, sx = dotDevAVX2(&d[0], &x[0], mp, k, m, limit)
	}
	var a, b float64
	if mask != nil {
		a, b = maskedDotDev32(d[k:], x[k:], mask[k:], m, limit)
	} else {
		a, b = dotDev32(d[k:], x[k:], m)
	}
	return s + a, sx + b
}

// backApply sets dx = k*g + (a*x + b), g as in dotDev.
func backApply(dx, d, x, mask []float32, k, a, b float32, limit uint32) {
	dx, x = dx[:len(d)], x[:len(d)]
	var mp *float32
	if mask != nil {
		mask = mask[:len(d)]
	}
	n := simdLen(len(d))
	if n > 0 {
		if mask != nil {
			mp = &mask[0]
		}
		backApplyAVX2(&dx[0], &d[0], &x[0], mp, n, k, a, b, limit)
	}
	for i := n; i < len(d); i++ {
		g := d[i]
		if mask != nil && !(math.Float32bits(mask[i])-1 < limit) {
			g = 0
		}
		dx[i] = k*g + (a*x[i] + b)
	}
}
