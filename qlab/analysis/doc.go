// Package analysis computes the layerwise statistics a quantization study
// reports, and returns them as plain tables.
//
// It provides streaming, memory-bounded summaries of float32 data
// (Accumulator: count, range, moments, percentiles, histograms, outlier
// fractions; per tensor and per channel of NCHW data, per-channel
// percentiles on request: exact for weights, opt-in for activations), the
// channelwise/layerwise range mismatch (Mismatch), quantization error of a
// tensor under a quantizer with its clipping/rounding split and the
// uniform-noise, Gaussian and Laplace predictions next to it (QuantError),
// and the Table type every result is returned as (CSV, JSON records, text,
// HTML; Filter, Column, Compare across models).
//
// Model-level collection walks a qlab/nn model: WeightStats (parameters,
// per output channel), ActivationStats (every layer's output streamed
// through a train.Tap over a dataset, memory bounded), and LayerErrors
// (per-layer error of a qlab/quant fake-quantized copy, propagated vs
// isolated, and each layer's sensitivity). The statistics themselves depend
// only on qlab/tensor, so they apply to any float32 data.
//
// Boundary: analysis measures and tabulates. It does not define
// quantization schemes (qlab/quant does; anything with a FakeQuant method,
// or quant's QParams through Grid, plugs in here) and does not draw
// (qlab/figures turns these tables into figures).
package analysis
