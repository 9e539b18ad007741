package quant

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The references below restate each function's rounding as a closed form
// over exact integers (floor division on math/big or int64) instead of
// gemmlowp's nudge-and-truncate trick, so an error in either shows up.

// refSRDHM is floor((a*b + 2^30) / 2^31): the nearest integer to a*b/2^31
// with exact halves rounded towards +Inf, saturated at the one overflow.
func refSRDHM(a, b int32) int32 {
	p := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	p.Add(p, big.NewInt(1<<30))
	// big.Int.Div is Euclidean; with a positive divisor that is floor.
	p.Div(p, big.NewInt(1<<31))
	if p.Cmp(big.NewInt(math.MaxInt32)) > 0 {
		return math.MaxInt32
	}
	return int32(p.Int64())
}

// refSRDHM64 is refSRDHM on int64 for the bulk loops (the product of two
// int32 fits in int64 except for no case: |a*b| <= 2^62).
func refSRDHM64(a, b int32) int32 {
	p := int64(a)*int64(b) + 1<<30
	q := p >> 31 // arithmetic shift is floor division by 2^31
	if q > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(q)
}

// refRDBPOT is x/2^e rounded half away from zero.
func refRDBPOT(x int32, e int) int32 {
	if e == 0 {
		return x
	}
	ax := int64(x)
	neg := ax < 0
	if neg {
		ax = -ax
	}
	q := (ax + 1<<(e-1)) >> e
	if neg {
		q = -q
	}
	return int32(q)
}

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	cases := []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{1 << 15, 1 << 15, 1},    // 0.5 rounds up
		{-(1 << 15), 1 << 15, 0}, // -0.5 rounds towards +Inf
		{-3 << 14, 1 << 16, -1},  // -1.5 -> -1
		{3 << 14, 1 << 16, 2},    // 1.5 -> 2
		{1 << 30, 1 << 30, 1 << 29},
		{0, math.MinInt32, 0},
	}
	for _, c := range cases {
		if got := SaturatingRoundingDoublingHighMul(c.a, c.b); got != c.want {
			t.Errorf("SRDHM(%d, %d) = %d; want %d", c.a, c.b, got, c.want)
		}
		if got := refSRDHM(c.a, c.b); got != c.want {
			t.Errorf("reference SRDHM(%d, %d) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
	// Exhaustive on the corners of the int32 range.
	var edge []int32
	for d := int32(0); d < 300; d++ {
		edge = append(edge, d, -d, math.MinInt32+d, math.MaxInt32-d, 1<<30+d-150, -(1<<30)+d-150)
	}
	for _, a := range edge {
		for _, b := range edge {
			if got, want := SaturatingRoundingDoublingHighMul(a, b), refSRDHM64(a, b); got != want {
				t.Fatalf("SRDHM(%d, %d) = %d; want %d", a, b, got, want)
			}
		}
	}
	// Check the int64 reference itself against math/big on a sample.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := int32(r.Uint32()), int32(r.Uint32())
		if x, y := refSRDHM64(a, b), refSRDHM(a, b); x != y {
			t.Fatalf("int64 reference %d != big reference %d for (%d, %d)", x, y, a, b)
		}
	}
	// Randomized on the full range, plus exact ties a*b = odd * 2^30.
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	for i := 0; i < n; i++ {
		a, b := int32(r.Uint32()), int32(r.Uint32())
		if i%2 == 1 {
			p := r.IntN(31)
			s := int64(r.Int32N(1<<(31-max(p, 30-p)-1))*2 + 1)
			u := int64(r.Int32N(1<<(31-max(p, 30-p)-1))*2 + 1)
			a, b = int32(s<<p), int32(u<<(30-p))
			if r.IntN(2) == 0 {
				a = -a
			}
		}
		if got, want := SaturatingRoundingDoublingHighMul(a, b), refSRDHM64(a, b); got != want {
			t.Fatalf("SRDHM(%d, %d) = %d; want %d", a, b, got, want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	cases := []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, {3, 1, 2}, {-3, 1, -2}, {4, 3, 1}, {-4, 3, -1}, {3, 3, 0}, {-3, 3, 0},
		{math.MinInt32, 31, -1}, {math.MaxInt32, 31, 1}, {math.MinInt32, 0, math.MinInt32},
		{math.MaxInt32, 1, 1 << 30}, {math.MinInt32 + 1, 1, -(1 << 30)},
	}
	for _, c := range cases {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RDBPOT(%d, %d) = %d; want %d", c.x, c.e, got, c.want)
		}
	}
	for e := 0; e <= 31; e++ {
		for x := int32(-5000); x <= 5000; x++ {
			for _, v := range []int32{x, math.MinInt32 + 5000 + x, math.MaxInt32 - 5000 + x} {
				if got, want := RoundingDivideByPOT(v, e), refRDBPOT(v, e); got != want {
					t.Fatalf("RDBPOT(%d, %d) = %d; want %d", v, e, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1_000_000; i++ {
		x, e := int32(r.Uint32()), r.IntN(32)
		if got, want := RoundingDivideByPOT(x, e), refRDBPOT(x, e); got != want {
			t.Fatalf("RDBPOT(%d, %d) = %d; want %d", x, e, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("RDBPOT(1, 32) did not panic")
		}
	}()
	RoundingDivideByPOT(1, 32)
}

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		real  float64
		mult  int32
		shift int
	}{
		{0, 0, 0},
		{0.5, 1 << 30, 0},
		{1, 1 << 30, 1},
		{0.25, 1 << 30, -1},
		{-0.5, -(1 << 30), 0},
		{0.75, 3 << 29, 0},
		// 1 - 2^-40 rounds up to 2^31 and is renormalised.
		{1 - 1.0/(1<<40), 1 << 30, 1},
		// -1 + 2^-40: frexp gives q close to -1, rounds to -2^31, which TFLite keeps.
		{-1 + 1.0/(1<<40), math.MinInt32, 0},
		{math.Ldexp(1, -32), 1 << 30, -31},
		{math.Ldexp(1, -33), 0, 0}, // flushed: shift would be -32
	}
	for _, c := range cases {
		m, s := QuantizeMultiplier(c.real)
		if m != c.mult || s != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = (%d, %d); want (%d, %d)", c.real, m, s, c.mult, c.shift)
		}
	}
	// The representation is within half a unit of the Q31 mantissa.
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		real := math.Ldexp(r.Float64()+0.5, r.IntN(40)-30)
		m, s := QuantizeMultiplier(real)
		got := math.Ldexp(float64(m), s-31)
		if math.Abs(got-real) > math.Ldexp(0.5, s-31) {
			t.Fatalf("QuantizeMultiplier(%g) = (%d, %d) = %g; error above half a unit", real, m, s, got)
		}
		if m < 1<<30 {
			t.Fatalf("QuantizeMultiplier(%g) mantissa %d not normalised", real, m)
		}
	}
}

// refMBQM composes the two references with exact left shifting.
func refMBQM(x, mult int32, shift int) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	return refRDBPOT(refSRDHM64(int32(int64(x)<<left), mult), right)
}

func TestMultiplyByQuantizedMultiplier(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 1_000_000
	for i := 0; i < n; i++ {
		real := math.Ldexp(r.Float64()+0.001, r.IntN(20)-18)
		if r.IntN(4) == 0 {
			real = -real
		}
		mult, shift := QuantizeMultiplier(real)
		// Keep x<<left within int32, the precondition TFLite relies on.
		left := max(shift, 0)
		x := int32(r.Int64N(1<<(31-left))) - int32(1<<(30-left))
		if i%3 == 0 {
			x = int32(r.Uint32()) >> left
		}
		got := MultiplyByQuantizedMultiplier(x, mult, shift)
		if want := refMBQM(x, mult, shift); got != want {
			t.Fatalf("MBQM(%d, %d, %d) = %d; want %d", x, mult, shift, got, want)
		}
		// And close to the real product: two roundings, each at most half
		// a unit, plus the mantissa's relative error of 2^-31.
		exact := float64(x) * real
		if math.Abs(float64(got)-exact) > 1+math.Abs(exact)*math.Ldexp(1, -30) {
			t.Fatalf("MBQM(%d, %g) = %d; exact %g", x, real, got, exact)
		}
	}
}

func BenchmarkMultiplyByQuantizedMultiplier(b *testing.B) {
	mult, shift := QuantizeMultiplier(0.0023)
	b.ReportAllocs()
	var s int32
	for i := 0; i < b.N; i++ {
		s += MultiplyByQuantizedMultiplier(int32(i)*977, mult, shift)
	}
	if s == 1 {
		b.Log(s)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
}

func TestRequantizeSaturates(t *testing.T) {
	m, s := QuantizeMultiplier(300) // shift 9
	cases := []struct {
		x    int32
		want int32
	}{
		{1000, 300000},
		{-1000, -300000},
		{1 << 26, math.MaxInt32},
		{-(1 << 26), math.MinInt32},
	}
	for _, c := range cases {
		if got := requantize(c.x, m, s); got != c.want {
			t.Errorf("requantize(%d, ×300) = %d; want %d", c.x, got, c.want)
		}
	}
}
