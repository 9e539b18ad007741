package analysis

import (
	"fmt"
	"math"
	"strconv"
)

// Row returns row i of t (0 <= i < Len).
func (t *Table) Row(i int) Row { return Row{t, t.Rows[i]} }

// columns returns the indices of the named columns, or an error naming the
// first one t lacks.
func (t *Table) columns(cols []string) ([]int, error) {
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = t.ColumnIndex(c); idx[i] < 0 {
			return nil, fmt.Errorf("analysis: table %q has no column %q (columns %v)", t.Name, c, t.Columns)
		}
	}
	return idx, nil
}

// Group is the rows of a table that share the values of its key columns.
type Group struct {
	// Key holds the group's key cells, one per key column, as they are in
	// the table (not formatted).
	Key []any
	// Rows holds the group's rows, with all of the table's columns, in
	// table order (cells shared with the table).
	Rows *Table
}

// GroupBy splits t by the values of the named columns: one Group per
// distinct combination, in order of first appearance. Two cells are the
// same value when they format the same (so 1 and 1.0 differ, "1" and 1
// do not). Without columns the whole table is one group. An unknown column
// is an error.
func (t *Table) GroupBy(cols ...string) ([]Group, error) {
	idx, err := t.columns(cols)
	if err != nil {
		return nil, err
	}
	var groups []Group
	at := map[string]int{}
	for _, r := range t.Rows {
		key := make([]any, len(idx))
		var ks []byte
		for i, j := range idx {
			key[i] = r[j]
			s := formatCell(r[j], false)
			ks = strconv.AppendInt(ks, int64(len(s)), 10)
			ks = append(ks, ':')
			ks = append(ks, s...)
		}
		g, ok := at[string(ks)]
		if !ok {
			g = len(groups)
			at[string(ks)] = g
			groups = append(groups, Group{Key: key, Rows: NewTable(t.Name, t.Columns...)})
		}
		groups[g].Rows.Rows = append(groups[g].Rows.Rows, r)
	}
	return groups, nil
}

// Summarize aggregates the numeric column value over the groups of the by
// columns (see GroupBy) and returns a table named "<value> by <by...>",
// one row per group in order of first appearance, with the columns
//
//	<by...>  the group's key cells
//	n        number of rows with a number (NaN and non-numeric cells are skipped)
//	mean     their mean (NaN when n is 0)
//	std      their sample standard deviation (n-1 divisor; NaN when n < 2)
//	min      their minimum (NaN when n is 0)
//	max      their maximum (NaN when n is 0)
//
// Sums run in float64 in row order, so the result does not depend on
// anything but the table.
func (t *Table) Summarize(value string, by ...string) (*Table, error) {
	vj := t.ColumnIndex(value)
	if vj < 0 {
		return nil, fmt.Errorf("analysis: table %q has no column %q (columns %v)", t.Name, value, t.Columns)
	}
	groups, err := t.GroupBy(by...)
	if err != nil {
		return nil, err
	}
	name := value
	if len(by) > 0 {
		name += " by " + fmt.Sprint(by)
	}
	out := NewTable(name, append(append([]string(nil), by...), "n", "mean", "std", "min", "max")...)
	for _, g := range groups {
		var xs []float64
		for _, r := range g.Rows.Rows {
			var x float64
			switch v := r[vj].(type) {
			case float64:
				x = v
			case int:
				x = float64(v)
			default:
				continue
			}
			if !math.IsNaN(x) {
				xs = append(xs, x)
			}
		}
		mean, std, lo, hi := math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if len(xs) > 0 {
			var s float64
			lo, hi = xs[0], xs[0]
			for _, x := range xs {
				s += x
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
			mean = s / float64(len(xs))
		}
		if len(xs) > 1 {
			var ss float64
			for _, x := range xs {
				ss += (x - mean) * (x - mean)
			}
			std = math.Sqrt(ss / float64(len(xs)-1))
		}
		row := append(append([]any(nil), g.Key...), len(xs), mean, std, lo, hi)
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// Matrix is a table pivoted into a grid of numbers: Values[i][j] belongs to
// row label Rows[i] and column label Cols[j], NaN where the table had no
// value. It is the input of figures.Heatmap (Rows as y labels, Cols as x
// labels) and figures.RangeOverTraining (Rows as layers, Cols parsed by
// ColFloats as x values).
type Matrix struct {
	Name       string
	Rows, Cols []string
	Values     [][]float64
}

// Pivot turns t into a Matrix: one matrix row per distinct value of the
// row column and one matrix column per distinct value of the col column
// (both in order of first appearance, formatted as text), holding the
// numeric value column. Two table rows with the same (row, col) pair are
// an error naming the pair — filter with Where first; so are an unknown
// column and a value cell that is not a number.
func (t *Table) Pivot(row, col, value string) (*Matrix, error) {
	idx, err := t.columns([]string{row, col, value})
	if err != nil {
		return nil, err
	}
	m := &Matrix{Name: t.Name}
	ri, ci := map[string]int{}, map[string]int{}
	type cell struct {
		r, c int
		v    float64
	}
	var cells []cell
	for n, r := range t.Rows {
		rs, cs := formatCell(r[idx[0]], false), formatCell(r[idx[1]], false)
		i, ok := ri[rs]
		if !ok {
			i = len(m.Rows)
			ri[rs] = i
			m.Rows = append(m.Rows, rs)
		}
		j, ok := ci[cs]
		if !ok {
			j = len(m.Cols)
			ci[cs] = j
			m.Cols = append(m.Cols, cs)
		}
		var v float64
		switch x := r[idx[2]].(type) {
		case float64:
			v = x
		case int:
			v = float64(x)
		default:
			return nil, fmt.Errorf("analysis: table %q: pivot: column %q row %d is %T, not a number", t.Name, value, n, r[idx[2]])
		}
		cells = append(cells, cell{i, j, v})
	}
	m.Values = make([][]float64, len(m.Rows))
	seen := make([][]bool, len(m.Rows))
	for i := range m.Values {
		m.Values[i] = make([]float64, len(m.Cols))
		seen[i] = make([]bool, len(m.Cols))
		for j := range m.Values[i] {
			m.Values[i][j] = math.NaN()
		}
	}
	for _, c := range cells {
		if seen[c.r][c.c] {
			return nil, fmt.Errorf("analysis: table %q: pivot: more than one row has %s %q and %s %q", t.Name, row, m.Rows[c.r], col, m.Cols[c.c])
		}
		seen[c.r][c.c] = true
		m.Values[c.r][c.c] = c.v
	}
	return m, nil
}

// ColFloats parses the column labels as numbers (e.g. epochs), for
// figures that need x values.
func (m *Matrix) ColFloats() ([]float64, error) {
	out := make([]float64, len(m.Cols))
	for j, c := range m.Cols {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			return nil, fmt.Errorf("analysis: matrix %q: column label %q is not a number", m.Name, c)
		}
		out[j] = v
	}
	return out, nil
}

// DropEmptyCols returns a copy of m without the columns whose every value
// is NaN (e.g. layers without weights in a weight metric).
func (m *Matrix) DropEmptyCols() *Matrix {
	out := &Matrix{Name: m.Name, Rows: append([]string(nil), m.Rows...), Values: make([][]float64, len(m.Rows))}
	var keep []int
	for j := range m.Cols {
		for i := range m.Rows {
			if !math.IsNaN(m.Values[i][j]) {
				keep = append(keep, j)
				break
			}
		}
	}
	for _, j := range keep {
		out.Cols = append(out.Cols, m.Cols[j])
	}
	for i := range m.Rows {
		out.Values[i] = make([]float64, len(keep))
		for k, j := range keep {
			out.Values[i][k] = m.Values[i][j]
		}
	}
	return out
}

// Transpose returns m with rows and columns swapped.
func (m *Matrix) Transpose() *Matrix {
	out := &Matrix{Name: m.Name, Rows: append([]string(nil), m.Cols...), Cols: append([]string(nil), m.Rows...),
		Values: make([][]float64, len(m.Cols))}
	for j := range m.Cols {
		out.Values[j] = make([]float64, len(m.Rows))
		for i := range m.Rows {
			out.Values[j][i] = m.Values[i][j]
		}
	}
	return out
}

// Stack turns the named value columns of t into rows (pandas' melt): for
// every row of t and every column of cols, one row holding t's other
// columns, then nameCol (the column's name) and valueCol (its cell). Rows
// come in table order, cols in the order given. An unknown column is an
// error.
func (t *Table) Stack(nameCol, valueCol string, cols ...string) (*Table, error) {
	idx, err := t.columns(cols)
	if err != nil {
		return nil, err
	}
	var keep []int
	var names []string
	for j, c := range t.Columns {
		stacked := false
		for _, k := range idx {
			stacked = stacked || k == j
		}
		if !stacked {
			keep = append(keep, j)
			names = append(names, c)
		}
	}
	out := NewTable(t.Name, append(names, nameCol, valueCol)...)
	for _, r := range t.Rows {
		for i, k := range idx {
			row := make([]any, 0, len(keep)+2)
			for _, j := range keep {
				row = append(row, r[j])
			}
			out.Rows = append(out.Rows, append(row, cols[i], r[k]))
		}
	}
	return out, nil
}
