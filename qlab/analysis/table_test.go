package analysis

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"math"
	"slices"
	"strings"
	"testing"
)

func sampleTable(t *testing.T, name string, rows ...[]any) *Table {
	t.Helper()
	tb := NewTable(name, "layer", "mse", "n")
	for _, r := range rows {
		if err := tb.Append(r...); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func TestTableAppendErrors(t *testing.T) {
	tb := NewTable("t", "a", "b")
	if err := tb.Append(1.0); err == nil {
		t.Errorf("short row: got nil error")
	}
	if err := tb.Append(1.0, []int{1}); err == nil {
		t.Errorf("slice cell: got nil error")
	}
	if err := tb.Append(float32(1.5), int64(3)); err != nil {
		t.Fatal(err)
	}
	if got := tb.Rows[0]; got[0] != 1.5 || got[1] != 3 {
		t.Errorf("normalised cells: got %#v; want 1.5 (float64), 3 (int)", got)
	}
}

func TestTableCSVJSON(t *testing.T) {
	tb := sampleTable(t, "errors", []any{"conv1", 0.25, 10}, []any{`we"ird,name`, math.NaN(), 3}, []any{"fc", math.Inf(1), 0})
	var b bytes.Buffer
	if err := tb.CSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"layer", "mse", "n"}, {"conv1", "0.25", "10"}, {`we"ird,name`, "NaN", "3"}, {"fc", "+Inf", "0"}}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("CSV: got %q; want %q", recs, want)
	}
	b.Reset()
	if err := tb.JSON(&b); err != nil {
		t.Fatal(err)
	}
	raw := b.String()
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, raw)
	}
	if len(got) != 3 || got[0]["layer"] != "conv1" || got[0]["mse"] != 0.25 || got[0]["n"] != 10.0 {
		t.Errorf("record 0: got %v", got[0])
	}
	if got[1]["mse"] != nil || got[2]["mse"] != nil {
		t.Errorf("NaN/Inf: got %v, %v; want null", got[1]["mse"], got[2]["mse"])
	}
	if got[1]["layer"] != `we"ird,name` {
		t.Errorf("escaped name: got %q", got[1]["layer"])
	}
	if i, j := strings.Index(raw, `"layer"`), strings.Index(raw, `"mse"`); !(i >= 0 && i < j) {
		t.Errorf("column order not kept in records: %s", raw)
	}
}

func TestTableTextAndHTML(t *testing.T) {
	tb := sampleTable(t, "errors", []any{"conv1", 0.000012345, 10}, []any{"block2/conv", 123.456, 3})
	s := tb.String()
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 4 || lines[0] != "errors" {
		t.Fatalf("text table: got %q", s)
	}
	if len(lines[1]) != len(lines[2]) || len(lines[2]) != len(lines[3]) {
		t.Errorf("rows not aligned:\n%s", s)
	}
	if !strings.Contains(s, "1.234e-05") || !strings.Contains(s, "123.5") {
		t.Errorf("number formatting: got\n%s", s)
	}
	h := tb.HTML()
	var doc struct {
		Rows []struct {
			Cells []string `xml:"td"`
		} `xml:"tbody>tr"`
	}
	if err := xml.Unmarshal([]byte(h), &doc); err != nil {
		t.Fatalf("HTML is not well-formed: %v\n%s", err, h)
	}
	if len(doc.Rows) != 2 || doc.Rows[1].Cells[0] != "block2/conv" {
		t.Errorf("HTML rows: got %+v", doc.Rows)
	}
}

func TestTableFilterSelectColumn(t *testing.T) {
	tb := sampleTable(t, "e", []any{"a", 1.0, 1}, []any{"b", 2.0, 2}, []any{"c", 3.0, 3})
	big := tb.Filter(func(r Row) bool { return r.Float("mse") >= 2 })
	if got, _ := big.Strings("layer"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("Filter: got %v; want [b c]", got)
	}
	if got := tb.Where("layer", "b").Len(); got != 1 {
		t.Errorf("Where: got %d rows; want 1", got)
	}
	if got := tb.Where("n", 3).Len(); got != 1 {
		t.Errorf("Where on int: got %d rows; want 1", got)
	}
	sel, err := tb.Select("n", "layer")
	if err != nil || !slices.Equal(sel.Columns, []string{"n", "layer"}) || sel.Rows[2][0] != 3 {
		t.Errorf("Select: got %v %v (%v)", sel.Columns, sel.Rows, err)
	}
	if _, err := tb.Select("nope"); err == nil {
		t.Errorf("Select unknown: got nil error")
	}
	if f, _ := tb.Floats("n"); !slices.Equal(f, []float64{1, 2, 3}) {
		t.Errorf("Floats of int column: got %v", f)
	}
	if _, err := tb.Floats("layer"); err == nil {
		t.Errorf("Floats of string column: got nil error")
	}
}

func TestCompare(t *testing.T) {
	he := sampleTable(t, "he", []any{"conv1", 1.0, 1}, []any{"conv2", 2.0, 1})
	gl := NewTable("glorot", "layer", "mse", "extra")
	gl.Append("conv2", 20.0, "x")
	gl.Append("conv1", 10.0, "y")
	gl.Append("fc", 30.0, "z")
	c, err := Compare([]string{"he", "glorot"}, []*Table{he, gl}, "layer")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"model", "layer", "mse", "n", "extra"}; !slices.Equal(c.Columns, want) {
		t.Errorf("columns: got %v; want %v", c.Columns, want)
	}
	models, _ := c.Strings("model")
	layers, _ := c.Strings("layer")
	if want := []string{"he", "glorot", "he", "glorot", "glorot"}; !slices.Equal(models, want) {
		t.Errorf("models: got %v; want %v", models, want)
	}
	if want := []string{"conv1", "conv1", "conv2", "conv2", "fc"}; !slices.Equal(layers, want) {
		t.Errorf("layers: got %v; want %v", layers, want)
	}
	if v := c.Rows[1][2]; v != 10.0 {
		t.Errorf("glorot conv1 mse: got %v; want 10", v)
	}
	if v := c.Rows[0][4].(float64); !math.IsNaN(v) {
		t.Errorf("missing column: got %v; want NaN", v)
	}
	m, err := CompareMap(map[string]*Table{"z": he, "a": gl}, "layer")
	if err != nil || m.Rows[0][0] != "a" {
		t.Errorf("CompareMap: first model got %v; want a (%v)", m.Rows[0][0], err)
	}
	if _, err := Compare([]string{"x"}, []*Table{NewTable("t", "a")}, "layer"); err == nil {
		t.Errorf("missing key column: got nil error")
	}
}
