package analysis

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Table is a plain result table: named columns and rows of cells. A cell
// is a float64, an int, a string or a bool (Append converts other integer
// and float types). Every analysis result is returned as one, one row per
// layer or per layer and channel, so it can be filtered, compared across
// models, exported (CSV, JSON records) or drawn by qlab/figures.
type Table struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// NewTable returns an empty table with the given columns.
func NewTable(name string, columns ...string) *Table {
	return &Table{Name: name, Columns: slices.Clone(columns)}
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.Rows) }

// Append adds a row; it is an error when the cell count differs from the
// column count or a cell has an unsupported type.
func (t *Table) Append(cells ...any) error {
	if len(cells) != len(t.Columns) {
		return fmt.Errorf("analysis: table %q: row has %d cells; want %d (%v)", t.Name, len(cells), len(t.Columns), t.Columns)
	}
	row := make([]any, len(cells))
	for i, c := range cells {
		v, ok := normCell(c)
		if !ok {
			return fmt.Errorf("analysis: table %q: column %q: unsupported cell type %T", t.Name, t.Columns[i], c)
		}
		row[i] = v
	}
	t.Rows = append(t.Rows, row)
	return nil
}

func normCell(c any) (any, bool) {
	switch v := c.(type) {
	case float64, int, string, bool:
		return v, true
	case float32:
		return float64(v), true
	case int64:
		return int(v), true
	case int32:
		return int(v), true
	case uint8:
		return int(v), true
	case uint32:
		return int(v), true
	}
	return nil, false
}

// ColumnIndex returns the index of the named column, or -1.
func (t *Table) ColumnIndex(name string) int { return slices.Index(t.Columns, name) }

// Column returns the cells of the named column.
func (t *Table) Column(name string) ([]any, error) {
	j := t.ColumnIndex(name)
	if j < 0 {
		return nil, fmt.Errorf("analysis: table %q has no column %q (columns %v)", t.Name, name, t.Columns)
	}
	out := make([]any, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r[j]
	}
	return out, nil
}

// Floats returns the named column as float64 (ints converted); a string or
// bool cell is an error naming the row.
func (t *Table) Floats(name string) ([]float64, error) {
	col, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(col))
	for i, c := range col {
		switch v := c.(type) {
		case float64:
			out[i] = v
		case int:
			out[i] = float64(v)
		default:
			return nil, fmt.Errorf("analysis: table %q: column %q row %d is %T, not a number", t.Name, name, i, c)
		}
	}
	return out, nil
}

// Strings returns the named column formatted as text.
func (t *Table) Strings(name string) ([]string, error) {
	col, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(col))
	for i, c := range col {
		out[i] = formatCell(c, false)
	}
	return out, nil
}

// Row is one row of a table, handed to Filter predicates.
type Row struct {
	t     *Table
	cells []any
}

// Get returns the cell of the named column, nil when there is none.
func (r Row) Get(col string) any {
	if j := r.t.ColumnIndex(col); j >= 0 {
		return r.cells[j]
	}
	return nil
}

// Float returns the named cell as a number (NaN when absent or not numeric).
func (r Row) Float(col string) float64 {
	switch v := r.Get(col).(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return math.NaN()
}

// String returns the named cell as text ("" when absent).
func (r Row) String(col string) string {
	if v := r.Get(col); v != nil {
		return formatCell(v, false)
	}
	return ""
}

// Filter returns a new table with the rows keep accepts (cells shared).
func (t *Table) Filter(keep func(r Row) bool) *Table {
	out := NewTable(t.Name, t.Columns...)
	for _, c := range t.Rows {
		if keep(Row{t, c}) {
			out.Rows = append(out.Rows, c)
		}
	}
	return out
}

// Where returns the rows whose named column formats as value (e.g.
// Where("layer", "conv1")); an unknown column gives an empty table.
func (t *Table) Where(col string, value any) *Table {
	want := formatCell(value, false)
	return t.Filter(func(r Row) bool { return r.Get(col) != nil && r.String(col) == want })
}

// Select returns a table with only the named columns, in that order.
func (t *Table) Select(cols ...string) (*Table, error) {
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = t.ColumnIndex(c); idx[i] < 0 {
			return nil, fmt.Errorf("analysis: table %q has no column %q (columns %v)", t.Name, c, t.Columns)
		}
	}
	out := NewTable(t.Name, cols...)
	for _, r := range t.Rows {
		nr := make([]any, len(idx))
		for i, j := range idx {
			nr[i] = r[j]
		}
		out.Rows = append(out.Rows, nr)
	}
	return out, nil
}

// formatCell renders a cell; full precision for export (shortest
// round-trip), 4 significant digits for display.
func formatCell(c any, display bool) string {
	switch v := c.(type) {
	case float64:
		if display {
			if math.IsNaN(v) {
				return "NaN"
			}
			if v != 0 && (math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3) {
				return strconv.FormatFloat(v, 'e', 3, 64)
			}
			return strconv.FormatFloat(v, 'g', 4, 64)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.Itoa(v)
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	return fmt.Sprint(c)
}

// CSV writes the table as CSV with a header row; floats at full precision,
// NaN as "NaN" (what pandas.read_csv reads as NaN).
func (t *Table) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return fmt.Errorf("analysis: table %q: csv: %w", t.Name, err)
	}
	rec := make([]string, len(t.Columns))
	for _, r := range t.Rows {
		for j, c := range r {
			rec[j] = formatCell(c, false)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("analysis: table %q: csv: %w", t.Name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("analysis: table %q: csv: %w", t.Name, err)
	}
	return nil
}

// JSON writes the table as a JSON array of records, one object per row with
// the columns in order — pandas.read_json(..., orient="records") reads it as
// is. NaN and ±Inf become null.
func (t *Table) JSON(w io.Writer) error {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, r := range t.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n{")
		for j, c := range r {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(t.Columns[j]))
			b.WriteByte(':')
			switch v := c.(type) {
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) {
					b.WriteString("null")
				} else {
					b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				}
			case string:
				b.WriteString(jsonString(v))
			default:
				b.WriteString(formatCell(v, false))
			}
		}
		b.WriteByte('}')
	}
	b.WriteString("\n]\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("analysis: table %q: json: %w", t.Name, err)
	}
	return nil
}

// jsonString quotes s as a JSON string (strconv.Quote escapes differ from
// JSON for some control characters, so do it by hand).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// String renders an aligned text table (numbers right-aligned, 4
// significant digits).
func (t *Table) String() string {
	cells := make([][]string, len(t.Rows)+1)
	cells[0] = t.Columns
	width := make([]int, len(t.Columns))
	for j, c := range t.Columns {
		width[j] = len(c)
	}
	for i, r := range t.Rows {
		cells[i+1] = make([]string, len(r))
		for j, c := range r {
			s := formatCell(c, true)
			cells[i+1][j] = s
			width[j] = max(width[j], len([]rune(s)))
		}
	}
	var b strings.Builder
	if t.Name != "" {
		b.WriteString(t.Name + "\n")
	}
	for i, r := range cells {
		for j, s := range r {
			if j > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[j]-len([]rune(s)))
			str := false
			if i > 0 {
				_, str = t.Rows[i-1][j].(string)
			}
			if i == 0 || str {
				b.WriteString(s + pad)
			} else {
				b.WriteString(pad + s)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// HTML renders the table as an HTML <table> (so a notebook displays it as
// one), numbers right-aligned with 4 significant digits.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString("<table class=\"qlab-table\">\n")
	if t.Name != "" {
		b.WriteString("<caption>" + html.EscapeString(t.Name) + "</caption>\n")
	}
	b.WriteString("<thead><tr>")
	for _, c := range t.Columns {
		b.WriteString("<th>" + html.EscapeString(c) + "</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			if _, ok := c.(string); ok {
				b.WriteString("<td style=\"text-align:left\">" + html.EscapeString(formatCell(c, true)) + "</td>")
			} else {
				b.WriteString("<td style=\"text-align:right\">" + html.EscapeString(formatCell(c, true)) + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

// Compare stacks the tables of several models into one, with a leading
// "model" column, rows aligned by the key column (normally "layer"): rows
// are grouped by key in order of first appearance across the tables, and
// within a key by model in the order given. Columns are the union of the
// tables' columns in order of first appearance; a table lacking a column
// gets NaN there.
func Compare(names []string, tables []*Table, key string) (*Table, error) {
	if len(names) != len(tables) {
		return nil, fmt.Errorf("analysis: compare: %d names for %d tables", len(names), len(tables))
	}
	var cols []string
	for i, t := range tables {
		if t == nil {
			return nil, fmt.Errorf("analysis: compare: table for model %q is nil", names[i])
		}
		if t.ColumnIndex(key) < 0 {
			return nil, fmt.Errorf("analysis: compare: table for model %q has no key column %q", names[i], key)
		}
		for _, c := range t.Columns {
			if c != "model" && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	// Keys in first-appearance order.
	var keys []string
	rowsByKey := map[string][][2]int{} // key -> (table, row)
	for ti, t := range tables {
		k := t.ColumnIndex(key)
		for ri, r := range t.Rows {
			s := formatCell(r[k], false)
			if _, ok := rowsByKey[s]; !ok {
				keys = append(keys, s)
			}
			rowsByKey[s] = append(rowsByKey[s], [2]int{ti, ri})
		}
	}
	out := NewTable("compare", append([]string{"model"}, cols...)...)
	for _, k := range keys {
		refs := rowsByKey[k]
		sort.SliceStable(refs, func(a, b int) bool { return refs[a][0] < refs[b][0] })
		for _, ref := range refs {
			t := tables[ref[0]]
			src := t.Rows[ref[1]]
			row := make([]any, 0, len(cols)+1)
			row = append(row, names[ref[0]])
			for _, c := range cols {
				if j := t.ColumnIndex(c); j >= 0 {
					row = append(row, src[j])
				} else {
					row = append(row, math.NaN())
				}
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

// CompareMap is Compare over a map of model name to table, models in sorted
// name order.
func CompareMap(tables map[string]*Table, key string) (*Table, error) {
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	ts := make([]*Table, len(names))
	for i, n := range names {
		ts[i] = tables[n]
	}
	return Compare(names, ts, key)
}
