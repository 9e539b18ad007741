package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/study"
	"github.com/qlab-dev/qlab/qlab/train"
)

// TrialFunc runs one trial and returns its record (the store fills in ID,
// Index and Trial). dir is the trial's own directory, for checkpoints and
// any extra files. It must be deterministic in t for records to be
// reproducible, and should honour ctx.
type TrialFunc func(ctx context.Context, t TrialSpec, dir string) (*Record, error)

// DefaultTrial builds t's architecture (weights drawn from t's initializer
// and seed), trains it with train.Fit (checkpointing into dir after every
// epoch, and resuming from a checkpoint a killed run left there) — or,
// when t.Models is set and holds the network, loads it from that model
// cache (qlab/study), and stores it there after training — evaluates
// it on the test set in FP32 and, for every quantization config,
// fake-quantized (see QuantEvaluate), and fills the per-layer table and the
// history when t's metrics ask for them.
func DefaultTrial(ctx context.Context, t TrialSpec, dir string) (*Record, error) {
	trainSet, testSet, err := loadData(t.Data)
	if err != nil {
		return nil, err
	}
	cfg := t.Train
	cfg.CheckpointDir = dir
	model, hist, err := trainTrial(ctx, t, cfg, trainSet, testSet)
	if err != nil {
		return nil, err
	}
	rec := &Record{}
	for _, p := range model.Params() {
		rec.Params += len(p.Value.Data)
	}
	m, err := train.Evaluate(ctx, model, testSet, cfg.EvalBatchSize)
	if err != nil {
		return nil, err
	}
	rec.FP32 = Eval{Loss: m.Loss, Accuracy: m.Accuracy, N: m.N}
	calib := trainSet.Subset(t.Data.CalibrationSubset)
	var layers map[string]*LayerRecord
	if t.Has(MetricLayers) {
		if layers, err = layerTable(ctx, model, calib, &rec.Layers); err != nil {
			return nil, err
		}
	}
	for _, q := range t.Quant {
		if !t.hasPlain() {
			break
		}
		qe, wq, err := QuantEvaluate(ctx, model, calib, testSet, *q.Config, cfg.EvalBatchSize)
		if err != nil {
			return nil, fmt.Errorf("sweep: quantization config %q: %w", q.Name, err)
		}
		rec.Quant = append(rec.Quant, QuantEval{Config: q.Name, Eval: qe, Drop: m.Accuracy - qe.Accuracy})
		for name, e := range wq {
			if l := layers[name]; l != nil {
				if l.WeightMSE == nil {
					l.WeightMSE, l.WeightPower = map[string]float64{}, map[string]float64{}
				}
				l.WeightMSE[q.Name], l.WeightPower[q.Name] = e[0], e[1]
			}
		}
	}
	if err := ptqEvaluate(ctx, t, model, calib, testSet, m.Accuracy, cfg.EvalBatchSize, rec); err != nil {
		return nil, err
	}
	if t.Has(MetricHistory) {
		rec.History = append(rec.History, hist.Records...)
		for i := range rec.History {
			rec.History[i].Seconds = 0
		}
	}
	return rec, nil
}

// trainTrial returns t's trained model and history: from t.Models when that
// cache holds the network, otherwise trained with train.Fit (or resumed
// from the checkpoint a killed run left in cfg.CheckpointDir) and then
// stored in t.Models when set.
func trainTrial(ctx context.Context, t TrialSpec, cfg train.Config, trainSet, testSet *data.Dataset) (*nn.Model, *train.History, error) {
	if t.Models != nil {
		tr, err := t.Models.Load(t.ArchSpec, trainSet, testSet, cfg)
		if err == nil {
			h := *tr.History
			h.Records = append([]train.EpochRecord(nil), h.Records...)
			for i := range h.Records {
				if !cfg.RecordRanges {
					h.Records[i].Ranges = nil // as training under cfg would record
				}
			}
			return tr.Model, &h, nil
		}
		if !errors.Is(err, study.ErrNotCached) {
			return nil, nil, err
		}
	}
	model, err := t.ArchSpec.Build()
	if err != nil {
		return nil, nil, err
	}
	var hist *train.History
	_, err = os.Stat(filepath.Join(cfg.CheckpointDir, train.CheckpointFile))
	switch {
	case err == nil:
		hist, err = train.Resume(ctx, model, trainSet, testSet, cfg)
	case errors.Is(err, fs.ErrNotExist):
		hist, err = train.Fit(ctx, model, trainSet, testSet, cfg)
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Models != nil {
		t.Models.Store(t.ArchSpec, trainSet, testSet, cfg, model, hist) // reported on its Log; the trial goes on
	}
	return model, hist, nil
}

// dataCache holds datasets read by this process: trials of one sweep share
// them (read-only), instead of each reading and decoding the files again.
var dataCache sync.Map // DataSpec (calibration subset zeroed) -> *loaded

type loaded struct {
	once        sync.Once
	train, test *data.Dataset
	err         error
}

// loadData reads the trial's data with data.Load (only the subsets'
// images are decoded), once per process for each dataset, directory and
// subset sizes.
func loadData(d DataSpec) (trainSet, testSet *data.Dataset, err error) {
	d.CalibrationSubset = 0
	v, _ := dataCache.LoadOrStore(d, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() {
		l.train, l.test, l.err = data.Load(d.Dataset, data.LoadOptions{Dir: d.Dir, TrainN: d.TrainSubset, TestN: d.TestSubset})
	})
	if l.err != nil {
		return nil, nil, fmt.Errorf("sweep: data: %w", l.err)
	}
	return l.train, l.test, nil
}

// QuantEvaluate evaluates model (left unchanged) fake-quantized under cfg
// on test with quant.Quantize's placement (batch norm folded unless
// cfg.NoFoldBN, input and activation points calibrated on calib in
// inference mode, conv+ReLU fused, weights and biases per the config). It
// also returns, per weight-bearing layer, the quantized weight's mean
// squared error against the (folded) float weight and that weight's mean
// square. batch is the evaluation batch size (0 means 256); it changes no
// result.
func QuantEvaluate(ctx context.Context, model *nn.Model, calib, test *data.Dataset, cfg quant.Config, batch int) (Eval, map[string][2]float64, error) {
	if batch <= 0 {
		batch = 256
	}
	q, err := quant.Quantize(ctx, model, calib, quant.Options{Config: cfg, BatchSize: batch})
	if err != nil {
		return Eval{}, nil, err
	}
	ref := model
	if !cfg.NoFoldBN {
		if ref, err = quant.FoldBatchNorm(model); err != nil {
			return Eval{}, nil, err
		}
	}
	wq := map[string][2]float64{}
	for _, p := range q.Net.Params() {
		f := ref.Param(p.Name)
		if p.Kind != nn.Weight || f == nil || len(f.Value.Data) != len(p.Value.Data) {
			continue
		}
		var mse, pow float64
		for i, v := range f.Value.Data {
			d := float64(v) - float64(p.Value.Data[i])
			mse += d * d
			pow += float64(v) * float64(v)
		}
		n := float64(len(p.Value.Data))
		wq[strings.TrimSuffix(p.Name, "/weight")] = [2]float64{mse / n, pow / n}
	}
	m, err := train.Evaluate(ctx, q, test, batch)
	if err != nil {
		return Eval{}, nil, err
	}
	return Eval{Loss: m.Loss, Accuracy: m.Accuracy, N: m.N}, wq, nil
}

// layerTable fills rows with one LayerRecord per leaf layer of model and
// returns them by name.
func layerTable(ctx context.Context, model *nn.Model, calib *data.Dataset, rows *[]LayerRecord) (map[string]*LayerRecord, error) {
	var acts train.LayerRanges
	if err := train.Observe(ctx, model, calib, train.ObserveOptions{}, acts.Observe); err != nil {
		return nil, fmt.Errorf("sweep: activation ranges: %w", err)
	}
	for _, l := range model.Layers() {
		r := LayerRecord{Layer: l.Name(), Kind: l.Kind()}
		if lo, hi, ok := acts.Range(l.Name()); ok {
			r.ActMin, r.ActMax = float64(lo), float64(hi)
		}
		for _, p := range l.Params() {
			if p.Kind != nn.Weight {
				continue
			}
			var m analysis.Moments
			if err := m.AddChunk(p.Value.Data); err != nil {
				return nil, fmt.Errorf("sweep: layer %q weight: %w", l.Name(), err)
			}
			r.HasWeight = true
			r.WeightMin, r.WeightMax, r.WeightStd = m.Min, m.Max, m.Std()
		}
		*rows = append(*rows, r)
	}
	out := map[string]*LayerRecord{}
	for i := range *rows {
		out[(*rows)[i].Layer] = &(*rows)[i]
	}
	return out, nil
}
