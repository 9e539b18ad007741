package nn

import "math"

// Naive float64 reference forwards, written independently of the layers
// (plain loops over the definitions), for the finite-difference checks.

// refConv is a grouped 2-D convolution: x (n, c, h, w), w (o, c/g, k, k),
// zero padding p, stride s; bias may be nil.
func refConv(x []float64, n, c, h, w int, wt []float64, o, k, s, p, g int, bias []float64) ([]float64, int, int) {
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := make([]float64, n*o*oh*ow)
	cg, og := c/g, o/g
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			grp := oc / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					sum := 0.0
					if bias != nil {
						sum = bias[oc]
					}
					for ic := 0; ic < cg; ic++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								iy, ix := oy*s-p+ky, ox*s-p+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								sum += wt[((oc*cg+ic)*k+ky)*k+kx] * x[((b*c+grp*cg+ic)*h+iy)*w+ix]
							}
						}
					}
					y[((b*o+oc)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	return y, oh, ow
}

// refBN normalizes x (n, c, hw) per channel with batch statistics (biased
// variance) when mean is nil, else with the given statistics.
func refBN(x []float64, n, c, hw int, gamma, beta, mean, variance []float64, eps float64) []float64 {
	y := make([]float64, len(x))
	for ch := 0; ch < c; ch++ {
		var m, v float64
		if mean == nil {
			for b := 0; b < n; b++ {
				for i := 0; i < hw; i++ {
					m += x[(b*c+ch)*hw+i]
				}
			}
			m /= float64(n * hw)
			for b := 0; b < n; b++ {
				for i := 0; i < hw; i++ {
					d := x[(b*c+ch)*hw+i] - m
					v += d * d
				}
			}
			v /= float64(n * hw)
		} else {
			m, v = mean[ch], variance[ch]
		}
		for b := 0; b < n; b++ {
			for i := 0; i < hw; i++ {
				j := (b*c+ch)*hw + i
				y[j] = gamma[ch]*(x[j]-m)/math.Sqrt(v+eps) + beta[ch]
			}
		}
	}
	return y
}

func refClamp(x []float64, hi float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Min(math.Max(v, 0), hi)
	}
	return y
}

// refPool is a max (isMax) or average pool of x (nc planes of h x w).
func refPool(x []float64, nc, h, w, k, s int, isMax bool) []float64 {
	oh, ow := (h-k)/s+1, (w-k)/s+1
	y := make([]float64, nc*oh*ow)
	for p := 0; p < nc; p++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				acc := 0.0
				if isMax {
					acc = math.Inf(-1)
				}
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						v := x[(p*h+oy*s+ky)*w+ox*s+kx]
						if isMax {
							acc = math.Max(acc, v)
						} else {
							acc += v / float64(k*k)
						}
					}
				}
				y[(p*oh+oy)*ow+ox] = acc
			}
		}
	}
	return y
}

func refGAP(x []float64, nc, hw int) []float64 {
	y := make([]float64, nc)
	for p := range y {
		for i := 0; i < hw; i++ {
			y[p] += x[p*hw+i] / float64(hw)
		}
	}
	return y
}

func refDense(x []float64, n, in, out int, wt, bias []float64) []float64 {
	y := make([]float64, n*out)
	for b := 0; b < n; b++ {
		for o := 0; o < out; o++ {
			s := 0.0
			if bias != nil {
				s = bias[o]
			}
			for i := 0; i < in; i++ {
				s += wt[o*in+i] * x[b*in+i]
			}
			y[b*out+o] = s
		}
	}
	return y
}

func refCrossEntropy(logits []float64, n, k int, labels []int) float64 {
	total := 0.0
	for b := 0; b < n; b++ {
		row := logits[b*k : (b+1)*k]
		z := 0.0
		for _, v := range row {
			z += math.Exp(v)
		}
		total += math.Log(z) - row[labels[b]]
	}
	return total / float64(n)
}
