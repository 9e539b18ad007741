package sweep

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestStudentTQuantile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p, df float64
		want  float64
	}{
		// df 1 is the Cauchy distribution: tan(pi (p - 1/2)).
		{"cauchy 0.975", 0.975, 1, math.Tan(math.Pi * 0.475)},
		{"cauchy 0.9", 0.9, 1, math.Tan(math.Pi * 0.4)},
		// df 2 has the closed form (2p-1) / sqrt(2 p (1-p)).
		{"df2 0.975", 0.975, 2, 0.95 / math.Sqrt(2*0.975*0.025)},
		{"df2 0.995", 0.995, 2, 0.99 / math.Sqrt(2*0.995*0.005)},
		// Tabulated values (Abramowitz & Stegun, Table 26.10).
		{"df4 0.975", 0.975, 4, 2.776445105},
		{"df9 0.975", 0.975, 9, 2.262157163},
		// Large df: z + (z³ + z)/(4ν), the first term of the expansion
		// about the normal quantile z = 1.959963984540054.
		{"normal limit", 0.975, 1e7, 1.959963984540054 + (math.Pow(1.959963984540054, 3)+1.959963984540054)/4e7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StudentTQuantile(tc.p, tc.df); !near(got, tc.want, 1e-8) {
				t.Errorf("got %.10f; want %.10f", got, tc.want)
			}
		})
	}
}

func TestMeanCI(t *testing.T) {
	iv, err := MeanCI([]float64{1, 2, 3, 4, 5}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// s = sqrt(2.5), se = s/sqrt(5) = sqrt(0.5), t_{0.975,4} = 2.776445105.
	h := 2.776445105 * math.Sqrt(0.5)
	if !near(iv.Mean, 3, 1e-15) || !near(iv.Lo, 3-h, 1e-8) || !near(iv.Hi, 3+h, 1e-8) || iv.N != 5 || iv.Level != 0.95 {
		t.Errorf("got %+v; want mean 3, [%v, %v], n 5, level 0.95", iv, 3-h, 3+h)
	}
	one, err := MeanCI([]float64{0.7}, 0)
	if err != nil || one.Mean != 0.7 || !math.IsNaN(one.Lo) || !math.IsNaN(one.Hi) {
		t.Errorf("one value: got %+v, %v; want mean 0.7, NaN bounds", one, err)
	}
	for _, bad := range [][]float64{nil, {1, math.NaN()}} {
		if _, err := MeanCI(bad, 0); err == nil {
			t.Errorf("MeanCI(%v): got no error", bad)
		}
	}
	if _, err := MeanCI([]float64{1, 2}, 1.5); err == nil {
		t.Errorf("level 1.5: got no error")
	}
}

// tCDF3 is Student's t CDF for 3 degrees of freedom in closed form.
func tCDF3(x float64) float64 {
	r3 := math.Sqrt(3)
	return 0.5 + (x/(r3*(1+x*x/3))+math.Atan(x/r3))/math.Pi
}

func TestPairedTTest(t *testing.T) {
	a := []float64{0.91, 0.93, 0.90, 0.94}
	b := []float64{0.89, 0.92, 0.88, 0.91}
	// By hand: d = {0.02, 0.01, 0.02, 0.03}, mean 0.02, sum of squared
	// deviations 2e-4, s² = 2e-4/3, se = sqrt(s²/4), t = 0.02/se = 2√6.
	r, err := PairedTTest(a, b)
	if err != nil {
		t.Fatal(err)
	}
	wantT := 2 * math.Sqrt(6)
	wantP := 2 * (1 - tCDF3(wantT))
	if !near(r.MeanDiff, 0.02, 1e-12) || !near(r.T, wantT, 1e-9) || r.DF != 3 || !near(r.P, wantP, 1e-9) {
		t.Errorf("got %+v; want mean 0.02, t %v, df 3, p %v", r, wantT, wantP)
	}
	if rev, _ := PairedTTest(b, a); !near(rev.T, -wantT, 1e-9) || !near(rev.P, wantP, 1e-9) {
		t.Errorf("reversed: got %+v; want t %v, same p", rev, -wantT)
	}
	if same, _ := PairedTTest(a, a); same.P != 1 {
		t.Errorf("identical samples: got p %v; want 1", same.P)
	}
	for _, tc := range []struct{ a, b []float64 }{{a, b[:3]}, {a[:1], b[:1]}, {[]float64{1, math.Inf(1)}, []float64{1, 2}}} {
		if _, err := PairedTTest(tc.a, tc.b); err == nil {
			t.Errorf("PairedTTest(%v, %v): got no error", tc.a, tc.b)
		}
	}
}

func TestBootstrapMeanCI(t *testing.T) {
	x := make([]float64, 200)
	for i := range x {
		x[i] = float64(i%17) * 0.1
	}
	a, err := BootstrapMeanCI(x, 0, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BootstrapMeanCI(x, 0, 0, 7)
	if a != b {
		t.Errorf("same seed: got %+v and %+v", a, b)
	}
	// For n = 200 the bootstrap interval of a mean is close to the
	// normal-theory one, mean ± 1.96 σ̂/√n with σ̂ the plug-in deviation.
	m, v := meanVar(x)
	h := 1.959964 * math.Sqrt(v*float64(len(x)-1)/float64(len(x))/float64(len(x)))
	if !near(a.Mean, m, 1e-12) || math.Abs(a.Lo-(m-h)) > 0.1*h || math.Abs(a.Hi-(m+h)) > 0.1*h {
		t.Errorf("got [%v, %v] around %v; want about [%v, %v]", a.Lo, a.Hi, a.Mean, m-h, m+h)
	}
	c, _ := BootstrapMeanCI([]float64{0.5, 0.5, 0.5}, 0.9, 100, 1)
	if c.Lo != 0.5 || c.Hi != 0.5 {
		t.Errorf("constant sample: got [%v, %v]; want [0.5, 0.5]", c.Lo, c.Hi)
	}
}

// gridRecords builds records for 2 initializers x 3 seeds with known
// accuracies.
func gridRecords() *Results {
	fp := map[string][]float64{"he_normal": {0.90, 0.92, 0.94}, "glorot_uniform": {0.89, 0.90, 0.92}}
	q := map[string][]float64{"he_normal": {0.85, 0.90, 0.86}, "glorot_uniform": {0.88, 0.89, 0.90}}
	var r Results
	for _, init := range []string{"he_normal", "glorot_uniform"} {
		for s := 0; s < 3; s++ {
			rec := &Record{Trial: TrialSpec{Arch: "net", Init: init, Seed: uint64(s)}, FP32: Eval{Accuracy: fp[init][s]},
				Quant: []QuantEval{{Config: "quint8", Eval: Eval{Accuracy: q[init][s]}, Drop: fp[init][s] - q[init][s]}},
				Layers: []LayerRecord{
					{Layer: "stem/conv", Kind: "Conv2D", HasWeight: true, WeightStd: 0.1 * float64(s+1),
						WeightMSE: map[string]float64{"quint8": 1e-6}, WeightPower: map[string]float64{"quint8": 1e-2}},
					{Layer: "head/fc", Kind: "Dense", HasWeight: true, WeightStd: 1},
				}}
			r.Records = append(r.Records, rec)
		}
	}
	return &r
}

func TestSummaryAndPaired(t *testing.T) {
	r := gridRecords()
	sum, err := r.Summary(0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Len() != 2 {
		t.Fatalf("got %d summary rows; want 2", sum.Len())
	}
	want, _ := MeanCI([]float64{0.90 - 0.85, 0.92 - 0.90, 0.94 - 0.86}, 0)
	row := sum.Rows[0]
	get := func(col string) any { return row[sum.ColumnIndex(col)] }
	if get("init") != "he_normal" || get("n") != 3 || !near(get("drop_mean").(float64), want.Mean, 1e-12) ||
		!near(get("drop_lo").(float64), want.Lo, 1e-12) || !near(get("fp32_mean").(float64), 0.92, 1e-12) {
		t.Errorf("got row %v; want he_normal, n 3, drop %+v, fp32 mean 0.92", row, want)
	}
	p, err := r.Paired(PairedOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 3 {
		t.Fatalf("got %d paired rows; want 3 (fp32, quant, drop)", p.Len())
	}
	tt, _ := PairedTTest([]float64{0.90, 0.92, 0.94}, []float64{0.89, 0.90, 0.92})
	r0 := p.Rows[0]
	if r0[p.ColumnIndex("metric")] != "fp32" || r0[p.ColumnIndex("init_a")] != "he_normal" ||
		r0[p.ColumnIndex("p")].(float64) != tt.P || r0[p.ColumnIndex("df")] != 2 {
		t.Errorf("got %v; want fp32 he_normal vs glorot_uniform, p %v, df 2", r0, tt.P)
	}
	lo, hi := r0[p.ColumnIndex("boot_lo")].(float64), r0[p.ColumnIndex("boot_hi")].(float64)
	if !(lo <= tt.MeanDiff && tt.MeanDiff <= hi) {
		t.Errorf("bootstrap [%v, %v] excludes the mean difference %v", lo, hi, tt.MeanDiff)
	}
	var csv, js bytes.Buffer
	if err := sum.CSV(&csv); err != nil || !strings.HasPrefix(csv.String(), "arch,init,config,n,fp32_mean") {
		t.Errorf("CSV: %v, %q", err, csv.String())
	}
	if err := p.JSON(&js); err != nil || !strings.Contains(js.String(), `"metric":"drop"`) {
		t.Errorf("JSON: %v, %q", err, js.String())
	}
}

func TestLayersAligned(t *testing.T) {
	r := gridRecords()
	lt, err := r.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if lt.Len() != 12 {
		t.Fatalf("got %d rows; want 12 (6 trials x 2 layers)", lt.Len())
	}
	sq := lt.Rows[0][lt.ColumnIndex("quint8_weight_sqnr_db")].(float64)
	if !near(sq, 40, 1e-12) {
		t.Errorf("SQNR: got %v; want 40 dB (power 1e-2 / mse 1e-6)", sq)
	}
	if v := lt.Rows[1][lt.ColumnIndex("quint8_weight_sqnr_db")].(float64); !math.IsNaN(v) {
		t.Errorf("layer without a config's MSE: got %v; want NaN", v)
	}
	ls, err := r.LayerSummary("weight_std", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Rows in network order, then initializer: (stem, he), (stem, glorot),
	// (head, he), (head, glorot); stem's std over seeds is 0.1, 0.2, 0.3.
	wantLayers := []string{"stem/conv", "stem/conv", "head/fc", "head/fc"}
	for i, row := range ls.Rows {
		if row[ls.ColumnIndex("layer")] != wantLayers[i] {
			t.Errorf("row %d: layer %v; want %s", i, row[2], wantLayers[i])
		}
	}
	if m := ls.Rows[0][ls.ColumnIndex("mean")].(float64); !near(m, 0.2, 1e-12) {
		t.Errorf("stem weight_std mean: got %v; want 0.2", m)
	}
	if _, err := r.LayerSummary("no_such", 0); err == nil {
		t.Errorf("unknown column: got no error")
	}
}
