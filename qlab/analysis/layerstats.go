package analysis

import (
	"fmt"
	"math"
)

// LayerStats holds one Accumulator per layer (or parameter), in model
// order: what WeightStats and ActivationStats return, and what the table
// views are built from.
type LayerStats struct {
	// Name is the set's name (used as the tables' name), e.g. "activations".
	Name string
	// Layers, Kinds and Accs are parallel: layer name, layer kind (e.g.
	// "Conv2D"; may be empty), accumulator.
	Layers []string
	Kinds  []string
	Accs   []*Accumulator
}

// Add appends a layer's accumulator.
func (s *LayerStats) Add(layer, kind string, a *Accumulator) {
	s.Layers = append(s.Layers, layer)
	s.Kinds = append(s.Kinds, kind)
	s.Accs = append(s.Accs, a)
}

// Get returns the named layer's accumulator, or nil.
func (s *LayerStats) Get(layer string) *Accumulator {
	for i, l := range s.Layers {
		if l == layer {
			return s.Accs[i]
		}
	}
	return nil
}

// SummaryColumns are the columns of LayerStats.Table, after "layer", "kind"
// and "index" (position along depth, from 0).
var SummaryColumns = []string{"count", "min", "max", "mean", "std", "skewness", "kurtosis",
	"p0.1", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "p99.9",
	"range", "absmax", "outliers3", "outliers6", "exact"}

// Table returns one row per layer with the Summary of its accumulator,
// named s.Name, with the columns layer, kind, index (the layer's position)
// and then SummaryColumns: count, min, max, mean, std, skewness
// (population), kurtosis (excess), the percentiles p0.1, p1, p5, p25, p50,
// p75, p95, p99, p99.9, range (max - min), absmax (max |x|), outliers3 and
// outliers6 (fractions beyond 3 and 6 standard deviations) and exact
// (whether percentiles and outlier fractions are exact, every value still
// held).
func (s *LayerStats) Table() *Table {
	t := NewTable(s.Name, append([]string{"layer", "kind", "index"}, SummaryColumns...)...)
	for i, a := range s.Accs {
		u := a.Summary()
		t.Rows = append(t.Rows, []any{s.Layers[i], s.Kinds[i], i, int(u.Count), u.Min, u.Max, u.Mean, u.Std,
			u.Skewness, u.Kurtosis, u.P001, u.P1, u.P5, u.P25, u.P50, u.P75, u.P95, u.P99, u.P999,
			u.Range, u.AbsMax, u.Outliers3, u.Outliers6, u.Exact})
	}
	return t
}

// ChannelPercentileColumns are the percentiles in ChannelTable ("p1" is
// the 1st percentile, ...).
var ChannelPercentileColumns = []string{"p0.1", "p1", "p5", "p50", "p95", "p99", "p99.9"}

var channelPercentiles = []float64{0.1, 1, 5, 50, 95, 99, 99.9}

// ChannelTable returns one row per layer and channel (layers without
// per-channel statistics are skipped): count, min, max, mean, std,
// skewness (population), kurtosis (excess), the ChannelPercentileColumns
// (NaN where the accumulator was built without Options.ChannelPercentiles),
// "exact" (whether those percentiles are exact), range (zero included, as
// quantizers see it) and bits lost under the layer's per-tensor range.
func (s *LayerStats) ChannelTable() *Table {
	cols := []string{"layer", "kind", "index", "channel", "count", "min", "max", "mean", "std", "skewness", "kurtosis"}
	cols = append(cols, ChannelPercentileColumns...)
	cols = append(cols, "exact", "range", "bits_lost")
	t := NewTable(s.Name+" per channel", cols...)
	for i, a := range s.Accs {
		ch := a.chans
		if len(ch) == 0 {
			continue
		}
		mins, maxs := channelBounds(ch)
		ranges, tr, err := ChannelRanges(mins, maxs, MismatchOptions{})
		if err != nil {
			continue // empty channels: nothing to report
		}
		for c, m := range ch {
			row := []any{s.Layers[i], s.Kinds[i], i, c, int(m.N), m.Min, m.Max, m.Mean, m.Std(), m.Skewness(), m.Kurtosis()}
			for _, p := range a.ChannelPercentiles(c, channelPercentiles...) {
				row = append(row, p)
			}
			row = append(row, a.ChannelExact(c), ranges[c], math.Log2(tr/ranges[c]))
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

func channelBounds(ch []Moments) (mins, maxs []float64) {
	mins, maxs = make([]float64, len(ch)), make([]float64, len(ch))
	for c, m := range ch {
		if m.N == 0 {
			mins[c], maxs[c] = math.NaN(), math.NaN()
			continue
		}
		mins[c], maxs[c] = m.Min, m.Max
	}
	return
}

// MismatchTable returns one row per layer with per-channel statistics:
// the ChannelMismatch summary (zero included in ranges). Its columns are
// layer, kind, index, channels, tensor_range (the layer's per-tensor range),
// ratio_min, ratio_median, ratio_max (channel range / tensor range),
// bits_lost_mean, bits_lost_median, bits_lost_max (log2 of tensor range /
// channel range) and zero_range_channels (channels whose range is 0).
func (s *LayerStats) MismatchTable() (*Table, error) {
	t := NewTable(s.Name+" channel mismatch", "layer", "kind", "index", "channels", "tensor_range",
		"ratio_min", "ratio_median", "ratio_max", "bits_lost_mean", "bits_lost_median", "bits_lost_max", "zero_range_channels")
	for i, a := range s.Accs {
		if len(a.chans) == 0 {
			continue
		}
		mins, maxs := channelBounds(a.chans)
		m, err := ChannelMismatch(mins, maxs, MismatchOptions{})
		if err != nil {
			return nil, fmt.Errorf("analysis: layer %q: %w", s.Layers[i], err)
		}
		t.Rows = append(t.Rows, []any{s.Layers[i], s.Kinds[i], i, m.Channels, m.TensorRange,
			m.RatioMin, m.RatioMedian, m.RatioMax, m.BitsLostMean, m.BitsLostMedian, m.BitsLostMax, m.ZeroRange})
	}
	return t, nil
}
