package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func uniformData(seed uint64, n int, lo, hi float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return x
}

func laplaceData(seed uint64, n int, mu, b float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		e := r.ExpFloat64() * b
		if r.IntN(2) == 0 {
			e = -e
		}
		x[i] = float32(mu + e)
	}
	return x
}

func TestGridFakeQuant(t *testing.T) {
	g := Grid{Scale: 0.5, ZeroPoint: 2, QMin: 0, QMax: 7} // range [-1, 2.5]
	src := []float32{-3, -1, -0.76, -0.75, -0.25, 0, 0.25, 0.75, 1.1, 2.5, 2.74, 9}
	want := []float32{-1, -1, -1, -1, 0, 0, 0, 1, 1, 2.5, 2.5, 2.5}
	got := make([]float32, len(src))
	g.FakeQuant(got, src)
	for i := range src {
		if got[i] != want[i] {
			t.Errorf("FakeQuant(%v): got %v; want %v", src[i], got[i], want[i])
		}
	}
	if lo, hi := g.ClipRange(); lo != -1 || hi != 2.5 {
		t.Errorf("ClipRange: got [%v, %v]; want [-1, 2.5]", lo, hi)
	}
}

func TestUniformGrid(t *testing.T) {
	g, err := UniformGrid(-1, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch MinMaxObserver quint8: scale = 4/255, zp = round(1/scale) = 64.
	if g.Scale != 4.0/255 || g.ZeroPoint != 64 || g.QMax != 255 {
		t.Errorf("got %+v; want scale 4/255 zp 64 qmax 255", g)
	}
	if _, err := UniformGrid(2, 1, 8); err == nil {
		t.Errorf("lo > hi: got nil error")
	}
}

func TestSQNRClosedForm(t *testing.T) {
	for _, bits := range []int{2, 4, 6, 8, 10} {
		t.Run(fmt.Sprintf("bits%d", bits), func(t *testing.T) {
			levels := 1 << bits
			// Symmetric midrise-free grid: levels points at (q - zp)·s covering
			// [-1, 1) ; the signal fills the grid's cells exactly, so the error
			// is uniform on [-s/2, s/2] with no clipping.
			s := 2.0 / float64(levels)
			g := Grid{Scale: s, ZeroPoint: levels / 2, QMin: 0, QMax: levels - 1}
			lo, hi := g.ClipRange()
			x := uniformData(uint64(bits), 400_000, lo-s/2, hi+s/2)
			st, err := QuantError(x, opaque{g})
			if err != nil {
				t.Fatal(err)
			}
			// Signal power of U(-1-s/2, 1-s/2) is 1/3 + s²/4; the ideal counts
			// the variance (2^b·s)²/12 = 1/3; correct for the offset mean.
			mean := -s / 2
			ideal := SQNRUniformIdeal(bits) + 10*math.Log10((1.0/3+mean*mean)/(1.0/3))
			if math.Abs(st.SQNR-ideal) > 0.1 {
				t.Errorf("SQNR: got %.3f dB; want %.3f dB (6.02·%d)", st.SQNR, ideal, bits)
			}
			if math.Abs(st.RoundRMSEOverScale-1/math.Sqrt(12)) > 0.003 {
				t.Errorf("rmse/scale: got %.4f; want 1/sqrt(12) = %.4f", st.RoundRMSEOverScale, 1/math.Sqrt(12))
			}
			if st.FracClipped != 0 || st.ClipMSE != 0 {
				t.Errorf("clipping: got frac %v mse %v; want 0", st.FracClipped, st.ClipMSE)
			}
			if r := st.RoundMSE / st.PredRoundMSE; math.Abs(r-1) > 0.01 {
				t.Errorf("rounding MSE / uniform-noise prediction: got %.4f; want 1", r)
			}
		})
	}
}

// opaque hides Grid's ClipRange/Step so the inferred path is exercised.
type opaque struct{ g Grid }

func (o opaque) FakeQuant(dst, src []float32) { o.g.FakeQuant(dst, src) }

func TestClipRoundSplit(t *testing.T) {
	x := gaussData(11, 100_000, 0.2, 1)
	g, _ := UniformGrid(-1.5, 1.5, 4) // clips ~13% of a unit Gaussian
	st, err := QuantError(x, g)
	if err != nil {
		t.Fatal(err)
	}
	if st.MSE != st.ClipMSE+st.RoundMSE {
		t.Errorf("MSE %v != clip %v + round %v", st.MSE, st.ClipMSE, st.RoundMSE)
	}
	// Independent total: quantize, subtract, average.
	xq := make([]float32, len(x))
	g.FakeQuant(xq, x)
	var sum float64
	for i := range x {
		e := float64(xq[i]) - float64(x[i])
		sum += e * e
	}
	if want := sum / float64(len(x)); !relClose(st.MSE, want, 1e-12) {
		t.Errorf("MSE: got %v; want %v", st.MSE, want)
	}
	// Against the Gaussian closed form fitted to the data's moments.
	if r := st.ClipMSE / st.PredGaussClipMSE; math.Abs(r-1) > 0.05 {
		t.Errorf("clip MSE %v vs Gaussian prediction %v (ratio %.3f)", st.ClipMSE, st.PredGaussClipMSE, r)
	}
	if r := st.MSE / st.PredGaussMSE; math.Abs(r-1) > 0.05 {
		t.Errorf("MSE %v vs Gaussian prediction %v (ratio %.3f)", st.MSE, st.PredGaussMSE, r)
	}
	// The inferred grid (from quantized values) finds the same split here:
	// both ends are clipped, so the bounds are the extreme grid points.
	inf, err := QuantErrorFrom(x, xq, Grid{})
	if err != nil {
		t.Fatal(err)
	}
	if !inf.Inferred || math.Abs(inf.Scale-g.Scale) > 1e-6 || inf.FracClipped != st.FracClipped || !relClose(inf.ClipMSE, st.ClipMSE, 1e-9) {
		t.Errorf("inferred: got scale %v clipped %v clipMSE %v; want %v %v %v", inf.Scale, inf.FracClipped, inf.ClipMSE, g.Scale, st.FracClipped, st.ClipMSE)
	}
}

func TestLaplaceClipPrediction(t *testing.T) {
	const b = 0.7
	x := laplaceData(12, 400_000, 0, b)
	g, _ := UniformGrid(-2, 2, 6)
	st, err := QuantError(x, g)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.ClipMSE / st.PredLaplaceClipMSE; math.Abs(r-1) > 0.05 {
		t.Errorf("clip MSE %v vs Laplace prediction %v (ratio %.3f)", st.ClipMSE, st.PredLaplaceClipMSE, r)
	}
	// A Gaussian with the same variance has much lighter tails: it must
	// underpredict by a wide margin, or the test does not tell the two apart.
	if st.PredGaussClipMSE > 0.5*st.ClipMSE {
		t.Errorf("Gaussian prediction %v unexpectedly close to Laplace data's clip MSE %v", st.PredGaussClipMSE, st.ClipMSE)
	}
}

// TestClipClosedFormsNumerically checks the closed forms against direct
// numerical integration of the densities (a midpoint rule on a fine grid).
func TestClipClosedFormsNumerically(t *testing.T) {
	cases := []struct{ mu, sd, lo, hi float64 }{
		{0, 1, -2, 2}, {0.5, 2, -1, 1}, {0, 1, 0.5, 3}, {-3, 1, -1, 4}, {0, 0.3, -2, -1},
	}
	integrate := func(pdf func(float64) float64, mu, sd, lo, hi float64) (c, p float64) {
		const n = 400_000
		a, bnd := mu-40*sd, mu+40*sd
		h := (bnd - a) / n
		for i := range n {
			x := a + (float64(i)+0.5)*h
			w := pdf(x) * h
			switch {
			case x > hi:
				c += (x - hi) * (x - hi) * w
			case x < lo:
				c += (lo - x) * (lo - x) * w
			default:
				p += w
			}
		}
		return
	}
	for _, c := range cases {
		gpdf := func(x float64) float64 {
			z := (x - c.mu) / c.sd
			return math.Exp(-z*z/2) / (c.sd * math.Sqrt(2*math.Pi))
		}
		lb := c.sd / math.Sqrt2
		lpdf := func(x float64) float64 { return math.Exp(-math.Abs(x-c.mu)/lb) / (2 * lb) }
		gc, gp := GaussianClipMSE(c.mu, c.sd, c.lo, c.hi)
		wc, wp := integrate(gpdf, c.mu, c.sd, c.lo, c.hi)
		if !relClose(gc, wc, 1e-4) || math.Abs(gp-wp) > 1e-5 {
			t.Errorf("Gaussian %+v: got (%v, %v); want (%v, %v)", c, gc, gp, wc, wp)
		}
		lc, lp := LaplaceClipMSE(c.mu, c.sd, c.lo, c.hi)
		wc, wp = integrate(lpdf, c.mu, c.sd, c.lo, c.hi)
		if !relClose(lc, wc, 1e-4) || math.Abs(lp-wp) > 1e-5 {
			t.Errorf("Laplace %+v: got (%v, %v); want (%v, %v)", c, lc, lp, wc, wp)
		}
	}
}

func TestQuantErrorErrors(t *testing.T) {
	g := Grid{Scale: 1, QMax: 255}
	if _, err := QuantError([]float32{1, float32(math.NaN())}, g); err == nil {
		t.Errorf("NaN input: got nil error")
	}
	if _, err := QuantErrorFrom([]float32{1, 2}, []float32{1}, g); err == nil {
		t.Errorf("length mismatch: got nil error")
	}
	if _, err := QuantErrorFrom([]float32{1, 2}, []float32{1, 1}, Grid{}); err == nil {
		t.Errorf("uninferable step: got nil error")
	}
	if _, err := QuantError(nil, g); err == nil {
		t.Errorf("empty: got nil error")
	}
}
