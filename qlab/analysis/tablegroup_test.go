package analysis

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func groupTable(t *testing.T) *Table {
	tb := NewTable("runs", "init", "seed", "acc")
	for _, r := range [][]any{{"he", 1, 0.9}, {"glorot", 1, 0.8}, {"he", 2, 0.7}, {"glorot", 2, math.NaN()}, {"he", 3, 0.8}} {
		if err := tb.Append(r...); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func TestGroupBySummarize(t *testing.T) {
	tb := groupTable(t)
	g, err := tb.GroupBy("init")
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 2 || g[0].Key[0] != "he" || g[0].Rows.Len() != 3 || g[1].Rows.Len() != 2 {
		t.Fatalf("groups %+v", g)
	}
	s, err := tb.Summarize("acc", "init")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"init", "n", "mean", "std", "min", "max"}; !reflect.DeepEqual(s.Columns, want) {
		t.Fatalf("columns %v; want %v", s.Columns, want)
	}
	he := s.Row(0)
	// Closed forms: mean of 0.9, 0.7, 0.8 is 0.8; sample sd is 0.1.
	if he.Float("n") != 3 || math.Abs(he.Float("mean")-0.8) > 1e-15 || math.Abs(he.Float("std")-0.1) > 1e-15 ||
		he.Float("min") != 0.7 || he.Float("max") != 0.9 {
		t.Errorf("he: %v; want n 3, mean 0.8, std 0.1, min 0.7, max 0.9", s.Rows[0])
	}
	gl := s.Row(1) // the NaN is skipped
	if gl.Float("n") != 1 || gl.Float("mean") != 0.8 || !math.IsNaN(gl.Float("std")) {
		t.Errorf("glorot: %v; want n 1, mean 0.8, std NaN", s.Rows[1])
	}
	all, err := tb.Summarize("acc")
	if err != nil || all.Len() != 1 || all.Row(0).Float("n") != 4 {
		t.Errorf("no keys: %v, %v", all, err)
	}
	for _, f := range []func() error{
		func() error { _, err := tb.GroupBy("nope"); return err },
		func() error { _, err := tb.Summarize("nope", "init"); return err },
		func() error { _, err := tb.Summarize("acc", "nope"); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("unknown column: %v; want an error naming it", err)
		}
	}
}

func TestPivot(t *testing.T) {
	tb := groupTable(t)
	m, err := tb.Pivot("init", "seed", "acc")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Rows, []string{"he", "glorot"}) || !reflect.DeepEqual(m.Cols, []string{"1", "2", "3"}) {
		t.Fatalf("labels %v x %v", m.Rows, m.Cols)
	}
	if m.Values[0][2] != 0.8 || m.Values[1][0] != 0.8 || !math.IsNaN(m.Values[1][2]) || !math.IsNaN(m.Values[1][1]) {
		t.Errorf("values %v", m.Values)
	}
	xs, err := m.ColFloats()
	if err != nil || !reflect.DeepEqual(xs, []float64{1, 2, 3}) {
		t.Errorf("ColFloats %v, %v", xs, err)
	}
	if _, err := m.Transpose().ColFloats(); err == nil {
		t.Error("ColFloats of text labels: no error")
	}
	d := m.Transpose().DropEmptyCols()
	if !reflect.DeepEqual(d.Cols, []string{"he", "glorot"}) {
		t.Errorf("DropEmptyCols kept %v", d.Cols)
	}
	m2, _ := tb.Where("init", "glorot").Pivot("seed", "init", "acc")
	if d := m2.Transpose().DropEmptyCols(); !reflect.DeepEqual(d.Cols, []string{"1"}) {
		t.Errorf("DropEmptyCols kept %v; want the seed with a value", d.Cols)
	}
	tb.Append("he", 1, 0.5)
	if _, err := tb.Pivot("init", "seed", "acc"); err == nil || !strings.Contains(err.Error(), `"he"`) {
		t.Errorf("duplicate pair: %v; want an error naming it", err)
	}
	if _, err := tb.Pivot("seed", "acc", "init"); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("text values: %v", err)
	}
}

func TestStack(t *testing.T) {
	tb := NewTable("acc", "init", "fp32", "int8")
	tb.Append("he", 0.9, 0.8)
	tb.Append("glorot", 0.7, 0.6)
	s, err := tb.Stack("precision", "accuracy", "fp32", "int8")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"he", "fp32", 0.9}, {"he", "int8", 0.8}, {"glorot", "fp32", 0.7}, {"glorot", "int8", 0.6}}
	if !reflect.DeepEqual(s.Columns, []string{"init", "precision", "accuracy"}) || !reflect.DeepEqual(s.Rows, want) {
		t.Errorf("stacked %v %v; want %v", s.Columns, s.Rows, want)
	}
	if _, err := tb.Stack("p", "v", "nope"); err == nil {
		t.Error("unknown column: no error")
	}
}
