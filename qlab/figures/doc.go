// Package figures draws publication figures of quantization studies with
// gonum/plot, in one house style.
//
// The style (Style, NewPlot) is sized for a single-column figure (~3.4 in
// wide): Liberation Sans at 7–8.5 pt, a colour-blind-safe Okabe–Ito palette
// (Palette, Color), thin light grid, legends outside the data. A Figure is
// one plot or a grid of plots with a shared legend strip and an optional
// colour bar; it renders itself as PNG and SVG (so a notebook displays it
// inline) and saves PNG, SVG, PDF and EPS in one atomic call.
//
// Figure kinds take plain inputs — slices, or qlab/analysis tables and
// accumulators: HistogramGrid, LayerBoxes, LayerViolins, RangeBars,
// ErrorLines, AccuracyBars, Heatmap, TrainingCurves, RangeOverTraining;
// the *FromStats and *FromTables helpers convert analysis results into
// their inputs.
//
// Boundary: figures draws; it computes nothing beyond what a figure needs
// (binning, layout). Statistics come from qlab/analysis.
package figures
