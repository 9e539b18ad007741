package sweep

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestPTQAxis(t *testing.T) {
	s := tinySpec(t.TempDir())
	s.Seeds = []uint64{1}
	s.Initializers = []string{"he_normal"}
	base, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	// "plain" alone is the same grid as no axis: same trial IDs.
	s.PTQ = []string{"plain"}
	same, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if same[0].ID != base[0].ID {
		t.Errorf("PTQ [plain] changed the trial ID %s → %s", base[0].ID, same[0].ID)
	}
	s.PTQ = []string{"plain", "CLE+bc", "adaround"}
	s.Quant = s.Quant[1:] // tflite_int8
	if _, err := Run(context.Background(), s, Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(s, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := st.Trial(0)
	if tr.ID == base[0].ID {
		t.Error("the PTQ axis did not change the trial ID")
	}
	r, err := st.Record(tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range r.Quant {
		got = append(got, q.Config+"/"+q.Method)
		if d := r.FP32.Accuracy - q.Accuracy; d != q.Drop || q.N != 128 {
			t.Errorf("%s: drop %v, N %d; want %v, 128", q.Config, q.Drop, q.N, d)
		}
	}
	if want := "tflite_int8/ tflite_int8+cle+bc/cle+bc tflite_int8+adaround/adaround"; strings.Join(got, " ") != want {
		t.Errorf("evaluations %q; want %q", strings.Join(got, " "), want)
	}
	for _, bad := range [][]string{{"cle+bogus"}, {"cle", "CLE"}} {
		s.PTQ = bad
		if _, err := s.Trials(); err == nil {
			t.Errorf("PTQ %q accepted", bad)
		}
	}
}

// InitEffect and PTQBars on hand-made records: two initializers, three
// seeds, plain and one method.
func TestInitEffect(t *testing.T) {
	acc := map[string][2][3]float64{ // [plain, cle] per seed
		"he_normal":            {{0.90, 0.92, 0.91}, {0.95, 0.96, 0.95}},
		"random_uniform(0.05)": {{0.50, 0.60, 0.55}, {0.94, 0.97, 0.95}},
	}
	r := &Results{}
	for _, init := range []string{"he_normal", "random_uniform(0.05)"} {
		for s := 0; s < 3; s++ {
			rec := &Record{Trial: TrialSpec{Arch: "dws", Init: init, Seed: uint64(s + 1)}, FP32: Eval{Accuracy: 0.98}}
			rec.Quant = []QuantEval{{Config: "w4", Eval: Eval{Accuracy: acc[init][0][s]}}, {Config: "w4+cle", Method: "cle", Eval: Eval{Accuracy: acc[init][1][s]}}}
			r.Records = append(r.Records, rec)
		}
	}
	tab, err := r.InitEffect(0.95)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 2 {
		t.Fatalf("%d rows; want 2 (plain, cle)\n%s", tab.Len(), tab)
	}
	spread, _ := tab.Floats("spread")
	p, _ := tab.Floats("p")
	methods, _ := tab.Strings("method")
	best, _ := tab.Strings("best_init")
	// plain: he_normal 0.91 vs 0.55: spread 0.36; differences 0.40, 0.32,
	// 0.36: t = 0.36/(0.04/√3) = 15.59, df 2, p = 0.00409.
	if methods[0] != "plain" || best[0] != "he_normal" || math.Abs(spread[0]-0.36) > 1e-12 || math.Abs(p[0]-0.00409) > 5e-5 {
		t.Errorf("plain row: method %s best %s spread %v p %v; want plain he_normal 0.36 0.00409", methods[0], best[0], spread[0], p[0])
	}
	// cle: means 0.95333 vs 0.95333 → spread 0.
	if methods[1] != "cle" || math.Abs(spread[1]) > 1e-12 {
		t.Errorf("cle row: method %s spread %v; want cle 0", methods[1], spread[1])
	}
	bars, err := r.PTQBars(0.95)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 4 || bars[0].Arch != "dws w4" || bars[0].Precision != "plain" || math.Abs(bars[0].Mean-91) > 1e-9 {
		t.Errorf("PTQ bars %+v", bars)
	}
	eb, err := r.InitEffectBars(0.95)
	if err != nil || len(eb) != 2 || math.Abs(eb[0].Mean-36) > 1e-9 {
		t.Errorf("init effect bars %+v, %v", eb, err)
	}
}
