package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

func gaussData(seed uint64, n int, mu, sd float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(mu + sd*r.NormFloat64())
	}
	return x
}

// naive computes moments by the textbook two-pass formulas over all data:
// the oracle the streaming merge must match.
func naive(x []float32) (mean, m2, m3, m4 float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	return
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-300)
}

func TestStreamingEqualsConcatenated(t *testing.T) {
	data := gaussData(1, 100_003, 0.3, 2)
	for i := range 500 { // a heavy tail so skewness and kurtosis are not ~0
		data[i*200] *= 9
	}
	chunkings := map[string][]int{
		"one":     {len(data)},
		"equal":   {25_000, 25_000, 25_000, 25_003},
		"ragged":  {1, 2, 3, 99_000, 997},
		"tiny":    {7, 7, 7, 7, 99_975},
		"singles": append(slices.Repeat([]int{1}, 1000), 99_003),
	}
	bins := Bins{Lo: -8, Hi: 8, N: 64}
	mean, m2, m3, m4 := naive(data)
	n := float64(len(data))
	wantSkew := (m3 / n) / math.Pow(m2/n, 1.5)
	wantKurt := (m4/n)/((m2/n)*(m2/n)) - 3
	ref, _ := NewHistogram(bins)
	ref.Add(data)
	var refFine *Accumulator
	for name, sizes := range chunkings {
		t.Run(name, func(t *testing.T) {
			a, err := NewAccumulator(Options{Bins: bins})
			if err != nil {
				t.Fatal(err)
			}
			off := 0
			for _, s := range sizes {
				if err := a.Add(data[off : off+s]); err != nil {
					t.Fatal(err)
				}
				off += s
			}
			m := a.Moments()
			if m.N != int64(len(data)) {
				t.Fatalf("count: got %d; want %d", m.N, len(data))
			}
			checks := []struct {
				what      string
				got, want float64
			}{
				{"mean", m.Mean, mean}, {"M2", m.M2, m2}, {"M3", m.M3, m3}, {"M4", m.M4, m4},
				{"skewness", m.Skewness(), wantSkew}, {"kurtosis", m.Kurtosis(), wantKurt},
			}
			for _, c := range checks {
				if !relClose(c.got, c.want, 1e-12) {
					t.Errorf("%s: got %.17g; want %.17g (rel 1e-12)", c.what, c.got, c.want)
				}
			}
			lo, hi := slices.Min(data), slices.Max(data)
			if m.Min != float64(lo) || m.Max != float64(hi) {
				t.Errorf("range: got [%v, %v]; want [%v, %v]", m.Min, m.Max, lo, hi)
			}
			h := a.FixedHistogram()
			if !slices.Equal(h.Counts, ref.Counts) || h.Under != ref.Under || h.Over != ref.Over {
				t.Errorf("fixed histogram differs from the concatenated one")
			}
			if refFine == nil {
				refFine = a
			} else if !slices.Equal(refFine.fine, a.fine) {
				t.Errorf("fine histogram differs between chunkings")
			}
			// Same chunking twice: bit-identical.
			b, _ := NewAccumulator(Options{Bins: bins})
			off = 0
			for _, s := range sizes {
				b.Add(data[off : off+s])
				off += s
			}
			if b.Moments() != m {
				t.Errorf("not deterministic: %+v vs %+v", b.Moments(), m)
			}
		})
	}
}

// TestChannelStreaming feeds per-channel data batch by batch, with one
// channel drifting far from its running mean and one with a large offset
// (mean 1e3, sd 1e-2), and compares with two-pass moments of each
// channel's concatenated values.
func TestChannelStreaming(t *testing.T) {
	const batches, nc, hw = 12, 4, 50
	r := rand.New(rand.NewPCG(40, 1))
	a, _ := NewAccumulator(Options{PerChannel: true})
	vals := make([][]float32, nc)
	for b := range batches {
		x := tensor.New(3, nc, hw)
		for i := range x.Data {
			c := (i / hw) % nc
			var v float64
			switch c {
			case 0:
				v = r.NormFloat64()
			case 1:
				v = 1e3 + 1e-2*r.NormFloat64()
			case 2:
				v = float64(b*b) + 0.1*r.NormFloat64() // drifts by many sd per batch
			case 3:
				v = r.ExpFloat64() * 5
			}
			x.Data[i] = float32(v)
		}
		for i, v := range x.Data {
			c := (i / hw) % nc
			vals[c] = append(vals[c], v)
		}
		if err := a.AddTensor(x); err != nil {
			t.Fatal(err)
		}
	}
	for c, ch := range a.Channels() {
		mean, m2, m3, m4 := naive(vals[c])
		for _, k := range []struct {
			what      string
			got, want float64
		}{{"mean", ch.Mean, mean}, {"M2", ch.M2, m2}, {"M3", ch.M3, m3}, {"M4", ch.M4, m4}} {
			// M3 of a symmetric channel is near 0, so bound its error in
			// skewness units instead: |ΔM3|·√n/M2^1.5 ≤ 1e-10.
			tol := 1e-12 * math.Abs(k.want)
			if k.what == "M3" {
				tol = math.Max(tol, 1e-10*math.Pow(m2, 1.5)/math.Sqrt(float64(len(vals[c]))))
			}
			if math.Abs(k.got-k.want) > tol {
				t.Errorf("channel %d %s: got %.17g; want %.17g", c, k.what, k.got, k.want)
			}
		}
	}
}

func TestPercentiles(t *testing.T) {
	data := gaussData(2, 50_000, -1, 3)
	sorted := slices.Clone(data)
	slices.Sort(sorted)
	exactPct := func(p float64) float64 { // NumPy "linear"
		pos := p / 100 * float64(len(sorted)-1)
		k := int(math.Floor(pos))
		fr := pos - float64(k)
		v := float64(sorted[k])
		if k+1 < len(sorted) {
			v += fr * (float64(sorted[k+1]) - v)
		}
		return v
	}
	big, _ := NewAccumulator(Options{ExactBuffer: -1})
	small, _ := NewAccumulator(Options{ExactBuffer: len(data)})
	for i := 0; i < len(data); i += 999 {
		big.Add(data[i:min(i+999, len(data))])
		small.Add(data[i:min(i+999, len(data))])
	}
	if big.Exact() || !small.Exact() {
		t.Fatalf("Exact: got %v, %v; want false, true", big.Exact(), small.Exact())
	}
	for _, p := range []float64{0, 0.1, 1, 5, 25, 50, 75, 95, 99, 99.9, 100} {
		want := exactPct(p)
		if got := small.Percentile(p); got != want {
			t.Errorf("exact p%v: got %v; want %v", p, got, want)
		}
		// Fine histogram: within one bucket of the truth.
		got := big.Percentile(p)
		if math.Abs(got-want) > FineRelativeError*math.Abs(want)+1e-6 {
			t.Errorf("fine p%v: got %v; want %v within %.2g relative", p, got, want, FineRelativeError)
		}
	}
	if got := big.Percentile(101); !math.IsNaN(got) {
		t.Errorf("p101: got %v; want NaN", got)
	}
}

func TestOutlierFraction(t *testing.T) {
	data := gaussData(3, 200_000, 0, 1)
	a, _ := NewAccumulator(Options{ExactBuffer: -1})
	a.Add(data)
	m := a.Moments()
	for _, k := range []float64{1, 2, 3} {
		c := 0
		for _, v := range data {
			if math.Abs(float64(v)-m.Mean) > k*m.Std() {
				c++
			}
		}
		want := float64(c) / float64(len(data))
		got := a.OutlierFraction(k)
		// Error bound: the mass of the two boundary buckets, each of relative
		// width FineRelativeError at |x| = k (standard normal density).
		bound := 2 * math.Exp(-k*k/2) / math.Sqrt(2*math.Pi) * k * FineRelativeError
		if math.Abs(got-want) > bound {
			t.Errorf("k=%v: got %v; want %v", k, got, want)
		}
		// Gaussian closed form 2Q(k), within sampling error.
		if th := math.Erfc(k / math.Sqrt2); math.Abs(got-th) > 4*math.Sqrt(th/float64(len(data))) {
			t.Errorf("k=%v: got %v; Gaussian closed form %v", k, got, th)
		}
	}
}

func TestGaussianShape(t *testing.T) {
	a, _ := NewAccumulator(Options{})
	a.Add(gaussData(4, 400_000, 5, 2))
	s := a.Summary()
	if math.Abs(s.Mean-5) > 0.02 || math.Abs(s.Std-2) > 0.02 || math.Abs(s.Skewness) > 0.02 || math.Abs(s.Kurtosis) > 0.04 {
		t.Errorf("Gaussian(5,2): got mean %v std %v skew %v kurt %v; want 5, 2, 0, 0", s.Mean, s.Std, s.Skewness, s.Kurtosis)
	}
	// Median of N(5,2) is 5; 97.5th... use the 95th: 5+2*1.6449.
	if math.Abs(s.P50-5) > 0.03 || math.Abs(s.P95-(5+2*1.6448536)) > 0.05 {
		t.Errorf("percentiles: got p50 %v p95 %v", s.P50, s.P95)
	}
}

func TestPerChannel(t *testing.T) {
	const nb, nc, hw = 3, 4, 10
	x := tensor.New(nb, nc, 2, 5)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range x.Data {
		c := (i / hw) % nc
		x.Data[i] = float32(float64(c*10) + r.NormFloat64())
	}
	a, _ := NewAccumulator(Options{PerChannel: true})
	if err := a.AddTensor(x); err != nil {
		t.Fatal(err)
	}
	ch := a.Channels()
	if len(ch) != nc {
		t.Fatalf("channels: got %d; want %d", len(ch), nc)
	}
	for c := range nc {
		var vals []float32
		for n := range nb {
			vals = append(vals, x.Data[(n*nc+c)*hw:(n*nc+c+1)*hw]...)
		}
		mean, m2, _, _ := naive(vals)
		if !relClose(ch[c].Mean, mean, 1e-12) || !relClose(ch[c].M2, m2, 1e-12) || ch[c].N != nb*hw {
			t.Errorf("channel %d: got mean %v M2 %v N %d; want %v %v %d", c, ch[c].Mean, ch[c].M2, ch[c].N, mean, m2, nb*hw)
		}
		if ch[c].Min != float64(slices.Min(vals)) || ch[c].Max != float64(slices.Max(vals)) {
			t.Errorf("channel %d range wrong", c)
		}
	}
	mean, m2, _, _ := naive(x.Data)
	if m := a.Moments(); !relClose(m.Mean, mean, 1e-12) || !relClose(m.M2, m2, 1e-12) {
		t.Errorf("tensor moments: got %v %v; want %v %v", m.Mean, m.M2, mean, m2)
	}
	bad := tensor.New(2, 3)
	if err := a.AddTensor(bad); err == nil {
		t.Errorf("channel count change: got nil error")
	}
}

func TestErrors(t *testing.T) {
	a, _ := NewAccumulator(Options{})
	x := []float32{1, 2, float32(math.NaN()), 4}
	if err := a.Add(x); err == nil {
		t.Errorf("NaN: got nil error")
	}
	if err := a.AddTensor(&tensor.Tensor{Shape: []int{2, 2}, Data: []float32{1, float32(math.Inf(1)), 1, 1}}); err == nil {
		t.Errorf("Inf: got nil error")
	}
	pc, _ := NewAccumulator(Options{PerChannel: true})
	if err := pc.AddTensor(&tensor.Tensor{Shape: []int{2, 2}, Data: []float32{1, 2, 3, float32(math.NaN())}}); err == nil {
		t.Errorf("NaN per channel: got nil error")
	}
	for _, acc := range []*Accumulator{a, pc} {
		if acc.Count() != 0 {
			t.Errorf("count after rejected chunks: got %d; want 0", acc.Count())
		}
		for i, c := range acc.fine {
			if c != 0 {
				t.Fatalf("fine bucket %d after rejected chunks: got %d; want 0", i, c)
			}
		}
	}
	if _, err := NewAccumulator(Options{Bins: Bins{Lo: 1, Hi: 1, N: 3}}); err == nil {
		t.Errorf("empty bin range: got nil error")
	}
	if _, err := SharedBins(Sturges, []*Accumulator{a}); err == nil {
		t.Errorf("shared bins of empty: got nil error")
	}
}

func TestAutoAndSharedBins(t *testing.T) {
	a, _ := NewAccumulator(Options{})
	a.Add(gaussData(6, 1000, 0, 1))
	b, _ := NewAccumulator(Options{})
	b.Add(gaussData(7, 1000, 3, 0.5))
	st, err := a.AutoBins(Sturges)
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 11 { // ceil(log2 1000)+1
		t.Errorf("Sturges bins: got %d; want 11", st.N)
	}
	fd, _ := a.AutoBins(FreedmanDiaconis)
	q := a.Percentiles(25, 75)
	m := a.Moments()
	want := int(math.Ceil((m.Max - m.Min) / (2 * (q[1] - q[0]) / 10)))
	if fd.N != want {
		t.Errorf("FD bins: got %d; want %d", fd.N, want)
	}
	sh, _ := SharedBins(Sturges, []*Accumulator{a, b})
	if sh.Lo != m.Min || sh.Hi != b.Moments().Max || sh.N != 12 {
		t.Errorf("shared: got %+v; want [%v, %v] with 12 bins", sh, m.Min, b.Moments().Max)
	}
	for _, acc := range []*Accumulator{a, b} {
		h, _ := acc.Histogram(sh)
		if h.Total() != 1000 || h.Under != 0 || h.Over != 0 {
			t.Errorf("shared histogram: total %d under %d over %d; want 1000, 0, 0", h.Total(), h.Under, h.Over)
		}
	}
}

func TestHistogramRebinnedFromFine(t *testing.T) {
	data := gaussData(8, 30_000, 0, 1)
	exact, _ := NewAccumulator(Options{ExactBuffer: len(data)})
	fine, _ := NewAccumulator(Options{ExactBuffer: -1})
	exact.Add(data)
	fine.Add(data)
	bins := Bins{Lo: -4, Hi: 4, N: 40}
	he, _ := exact.Histogram(bins)
	hf, _ := fine.Histogram(bins)
	if he.Total() != hf.Total() {
		t.Fatalf("totals: got %d; want %d", hf.Total(), he.Total())
	}
	// Only values within a fine bucket of an edge may move: a few per bin.
	for i := range he.Counts {
		if d := he.Counts[i] - hf.Counts[i]; d > 40 || d < -40 {
			t.Errorf("bin %d: fine %d; exact %d", i, hf.Counts[i], he.Counts[i])
		}
	}
}

func BenchmarkAccumulatorAddTensor(b *testing.B) {
	x := tensor.New(64, 32, 32, 32)
	copy(x.Data, gaussData(9, len(x.Data), 0, 1))
	a, _ := NewAccumulator(Options{PerChannel: true})
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(x.Data)))
	for b.Loop() {
		a.AddTensor(x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x.Data)), "ns/value")
}

func TestParallelSplitIsInvisible(t *testing.T) {
	x := tensor.New(16, 8, 32, 16) // 65,536 values: above parallelMin
	copy(x.Data, gaussData(30, len(x.Data), 1, 2))
	run := func(procs int) *Accumulator {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		a, _ := NewAccumulator(Options{PerChannel: true})
		for range 2 {
			if err := a.AddTensor(x); err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	serial, par := run(1), run(2)
	if serial.Moments() != par.Moments() || !slices.Equal(serial.Channels(), par.Channels()) || !slices.Equal(serial.fine, par.fine) {
		t.Errorf("parallel and serial AddChannels differ")
	}
	bad := x.Clone()
	bad.Data[len(bad.Data)-5] = float32(math.Inf(-1))
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	a, _ := NewAccumulator(Options{PerChannel: true})
	if err := a.AddTensor(bad); err == nil || !strings.Contains(err.Error(), fmt.Sprint(len(bad.Data)-5)) {
		t.Errorf("Inf in second half: got %v; want an error naming element %d", err, len(bad.Data)-5)
	}
	for i := range a.fine {
		if a.fine[i] != 0 || (a.fineAux != nil && a.fineAux[i] != 0) {
			t.Fatalf("fine bucket %d not restored after rejected tensor", i)
		}
	}
}

// chunkMomentsSimple is the plain two-pass summary (one accumulator per
// statistic): the reference the SIMD summary (summariseOne) is checked and
// timed against.
func chunkMomentsSimple(x []float32) Moments {
	var s float64
	lo, hi := x[0], x[0]
	for _, v := range x {
		s += float64(v)
		lo, hi = min(lo, v), max(hi, v)
	}
	mean := s / float64(len(x))
	var m2, m3, m4 float64
	for _, v := range x {
		d := float64(v) - mean
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	return Moments{N: int64(len(x)), Min: float64(lo), Max: float64(hi), Mean: mean, M2: m2, M3: m3, M4: m4}
}

// summariseOne is the one-channel summary Add uses: two passes when prev
// is empty, else one pass about prev.Mean (two if that is too far off).
func summariseOne(x []float32, prev Moments, fine []int64, keys *keyBuffer) (Moments, bool) {
	var sc [1]Moments
	var st [1]channelScan
	bad := summariseChannels(x, 1, 1, len(x), sc[:], []Moments{prev}, st[:], 0, fine, keys)
	return sc[0], !bad
}

func TestChunkMomentsUnrolled(t *testing.T) {
	fine := make([]int64, fineBuckets)
	for _, n := range []int{1, 2, 3, 17, 1024, 1025} {
		x := gaussData(uint64(n), n, 2, 3)
		want := chunkMomentsSimple(x)
		for name, prev := range map[string]Moments{
			"two-pass": {},
			"one-pass": {N: 1, Mean: want.Mean + 0.1*math.Sqrt(want.M2/float64(n))},
			"fallback": {N: 1, Mean: want.Mean + 3},
		} {
			got, ok := summariseOne(x, prev, fine, new(keyBuffer))
			if !ok || got.N != want.N || got.Min != want.Min || got.Max != want.Max || !relClose(got.Mean, want.Mean, 1e-14) ||
				!relClose(got.M2, want.M2, 1e-13) || !relClose(got.M4, want.M4, 1e-13) || math.Abs(got.M3-want.M3) > 1e-13*math.Pow(want.M2, 1.5) {
				t.Errorf("n=%d %s: got %+v; want %+v", n, name, got, want)
			}
		}
	}
}

// BenchmarkChunkMoments times the per-chunk summary on a 1024-value chunk
// (one 32×32 channel) against the plain two-pass loop.
func BenchmarkChunkMoments(b *testing.B) {
	x := gaussData(41, 1024, 0.5, 1)
	fine := make([]int64, fineBuckets)
	keys := new(keyBuffer)
	b.Run("unrolled+fine", func(b *testing.B) {
		for b.Loop() {
			summariseOne(x, Moments{}, fine, keys)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/value")
	})
	b.Run("simple", func(b *testing.B) {
		for b.Loop() {
			chunkMomentsSimple(x)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/value")
	})
}

func TestMerge(t *testing.T) {
	bins := Bins{Lo: -5, Hi: 5, N: 20}
	x := tensor.New(6, 3, 40)
	copy(x.Data, gaussData(50, len(x.Data), 0.5, 1.5))
	y := tensor.New(4, 3, 40)
	copy(y.Data, gaussData(51, len(y.Data), -0.2, 2))
	opts := Options{Bins: bins, PerChannel: true, ExactBuffer: 1000}
	whole, _ := NewAccumulator(opts)
	whole.AddTensor(x)
	whole.AddTensor(y)
	a, _ := NewAccumulator(opts)
	b, _ := NewAccumulator(opts)
	a.AddTensor(x)
	b.AddTensor(y)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	wm, am := whole.Moments(), a.Moments()
	if wm.N != am.N || wm.Min != am.Min || wm.Max != am.Max || !relClose(am.Mean, wm.Mean, 1e-12) || !relClose(am.M2, wm.M2, 1e-12) || !relClose(am.M4, wm.M4, 1e-12) {
		t.Errorf("merged moments %+v; want %+v", am, wm)
	}
	for c, ch := range a.Channels() {
		if w := whole.Channels()[c]; ch.N != w.N || !relClose(ch.M2, w.M2, 1e-12) {
			t.Errorf("channel %d: got %+v; want %+v", c, ch, w)
		}
	}
	if !slices.Equal(a.fine, whole.fine) || !slices.Equal(a.FixedHistogram().Counts, whole.FixedHistogram().Counts) {
		t.Errorf("merged histograms differ from the whole stream's")
	}
	if a.Exact() || whole.Exact() { // 1,200 values > ExactBuffer 1,000
		t.Errorf("Exact: got %v (merged), %v (whole); want false", a.Exact(), whole.Exact())
	}
	if got, want := a.Percentile(50), whole.Percentile(50); got != want {
		t.Errorf("median: got %v; want %v", got, want)
	}
	other, _ := NewAccumulator(Options{Bins: Bins{Lo: 0, Hi: 1, N: 2}})
	if err := a.Merge(other); err == nil {
		t.Errorf("different fixed bins: got nil error")
	}
}

// BenchmarkAccumulatorReLU feeds ReLU-like activations (half exact zeros,
// so runs of increments of one fine bucket).
func BenchmarkAccumulatorReLU(b *testing.B) {
	x := tensor.New(64, 32, 32, 32)
	copy(x.Data, gaussData(9, len(x.Data), 0, 1))
	for i, v := range x.Data {
		x.Data[i] = max(v, 0)
	}
	a, _ := NewAccumulator(Options{PerChannel: true})
	b.ReportAllocs()
	for b.Loop() {
		a.AddTensor(x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x.Data)), "ns/value")
}

// ReLU outputs are mostly exact zeros; once the data outgrows the exact
// buffer, percentiles inside the zero mass must still be 0, not the
// subnormals that spreading the zero bucket's values would give.
func TestPercentileReLUZeros(t *testing.T) {
	a, err := NewAccumulator(Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50000
	x := make([]float32, n)
	for i := range x {
		if i%5 >= 3 { // 40% positive, 60% exact zeros
			x[i] = float32(i%97) / 10
		}
	}
	if err := a.Add(x); err != nil {
		t.Fatal(err)
	}
	if a.Exact() {
		t.Fatalf("%d values still fit the exact buffer; the test needs the fine histogram", n)
	}
	for _, p := range []float64{0, 0.1, 10, 50, 59} {
		if got := a.Percentile(p); got != 0 {
			t.Errorf("Percentile(%g) = %g; want 0 (60%% of the values are 0)", p, got)
		}
	}
	if got := a.Percentile(100); math.Abs(got-9.6) > 9.6*FineRelativeError {
		t.Errorf("Percentile(100) = %g; want 9.6 (the max) within %g relative", got, FineRelativeError)
	}
}
