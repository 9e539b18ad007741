package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// TrialFunc runs one trial and returns its record (the store fills in ID,
// Index and Trial). dir is the trial's own directory, for checkpoints and
// any extra files. It must be deterministic in t for records to be
// reproducible, and should honour ctx.
type TrialFunc func(ctx context.Context, t TrialSpec, dir string) (*Record, error)

// DefaultTrial builds t's architecture (weights drawn from t's initializer
// and seed), trains it with train.Fit (checkpointing into dir after every
// epoch, and resuming from a checkpoint a killed run left there), evaluates
// it on the test set in FP32 and, for every quantization config,
// fake-quantized (see QuantEvaluate), and fills the per-layer table and the
// history when t's metrics ask for them.
func DefaultTrial(ctx context.Context, t TrialSpec, dir string) (*Record, error) {
	trainSet, testSet, err := loadData(t.Data)
	if err != nil {
		return nil, err
	}
	model, err := t.ArchSpec.Build()
	if err != nil {
		return nil, err
	}
	cfg := t.Train
	cfg.CheckpointDir = dir
	var hist *train.History
	_, err = os.Stat(filepath.Join(dir, train.CheckpointFile))
	switch {
	case err == nil:
		hist, err = train.Resume(ctx, model, trainSet, testSet, cfg)
	case errors.Is(err, fs.ErrNotExist):
		hist, err = train.Fit(ctx, model, trainSet, testSet, cfg)
	}
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
		if layers, err = layerTable(model, calib, &rec.Layers); err != nil {
			return nil, err
		}
	}
	for _, q := range t.Quant {
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
	if t.Has(MetricHistory) {
		rec.History = append(rec.History, hist.Records...)
		for i := range rec.History {
			rec.History[i].Seconds = 0
		}
	}
	return rec, nil
}

// dataCache holds datasets read by this process: trials of one sweep share
// them (read-only), instead of each reading and decoding the files again.
var dataCache sync.Map // DataSpec (subsets zeroed) -> *loaded

type loaded struct {
	once        sync.Once
	train, test *data.Dataset
	err         error
}

func loadData(d DataSpec) (trainSet, testSet *data.Dataset, err error) {
	key := DataSpec{Dataset: d.Dataset, Dir: d.Dir}
	v, _ := dataCache.LoadOrStore(key, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() {
		switch d.Dataset {
		case "mnist", "":
			if d.Dir != "" {
				l.train, l.test, l.err = data.MNISTFrom(d.Dir)
			} else {
				l.train, l.test, l.err = data.MNIST()
			}
		case "fashion-mnist":
			dir := d.Dir
			if dir == "" {
				dir = "/usr/share/datasets/fashion-mnist"
			}
			l.train, l.test, l.err = data.FashionMNIST(dir)
		case "cifar10":
			l.train, l.test, l.err = data.CIFAR10(d.Dir)
		default:
			l.err = fmt.Errorf("%w: unknown dataset %q", ErrSpec, d.Dataset)
		}
	})
	if l.err != nil {
		return nil, nil, fmt.Errorf("sweep: data: %w", l.err)
	}
	return l.train.Subset(d.TrainSubset), l.test.Subset(d.TestSubset), nil
}

// forEachBatch runs model in inference mode over ds in batches.
func forEachBatch(ctx context.Context, model *nn.Model, ds *data.Dataset, batch int) error {
	if batch <= 0 {
		batch = 256
	}
	was := model.Training()
	model.SetTraining(false)
	defer model.SetTraining(was)
	it := (&data.Loader{Data: ds, BatchSize: batch}).Epoch(0)
	for it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, _ := it.Batch()
		if _, err := model.Forward(x); err != nil {
			return err
		}
	}
	return it.Err()
}

// passesQuantized reports whether a layer kind outputs values of its
// (already quantized) input grid, so it needs no quantizer of its own, as
// in TFLite where these ops share their input's quantization parameters.
func passesQuantized(kind string) bool {
	switch kind {
	case "MaxPool2D", "Flatten", "Dropout":
		return true
	}
	return false
}

// QuantEvaluate evaluates model (left unchanged) fake-quantized under cfg
// on test: batch norm folded into the preceding convolutions unless
// cfg.NoFoldBN; every weight parameter quantized-dequantized with
// cfg.Weights (calibrated on the weight itself); every leaf layer's output
// except max pooling, flatten and dropout (which keep their input's grid)
// quantized-dequantized with cfg.Activations, calibrated over calib in
// inference mode. Biases stay in float32 and the model input is not
// quantized (MNIST and CIFAR-10 pixels k/255 are exact on an 8-bit [0, 1]
// grid); int32 biases (TFLite) round at scale s_in*s_w, far below the
// weights' error. It also returns, per weight-bearing layer, the weight's
// quantization MSE and its mean square.
func QuantEvaluate(ctx context.Context, model *nn.Model, calib, test *data.Dataset, cfg quant.Config, batch int) (Eval, map[string][2]float64, error) {
	var m *nn.Model
	var err error
	if cfg.NoFoldBN {
		m, err = model.Clone()
	} else {
		m, err = quant.FoldBatchNorm(model)
	}
	if err != nil {
		return Eval{}, nil, err
	}
	m.SetTraining(false)
	wq := map[string][2]float64{}
	if !cfg.Weights.Float {
		for _, p := range m.Params() {
			if p.Kind != nn.Weight {
				continue
			}
			obs, err := quant.NewObserver(p.Name, cfg.Weights)
			if err != nil {
				return Eval{}, nil, err
			}
			if err := obs.Observe(p.Value); err != nil {
				return Eval{}, nil, err
			}
			qp, err := obs.QParams()
			if err != nil {
				return Eval{}, nil, err
			}
			orig := p.Value.Clone()
			if err := qp.FakeQuant(p.Value, p.Value); err != nil {
				return Eval{}, nil, fmt.Errorf("quantizing %s: %w", p.Name, err)
			}
			var mse, pow float64
			for i, v := range orig.Data {
				d := float64(v) - float64(p.Value.Data[i])
				mse += d * d
				pow += float64(v) * float64(v)
			}
			n := float64(len(orig.Data))
			layer := p.Name[:len(p.Name)-len("/weight")]
			wq[layer] = [2]float64{mse / n, pow / n}
		}
	}
	if !cfg.Activations.Float {
		obs := map[string]*quant.Observer{}
		var obsErr error
		remove := m.Observe(func(l nn.Layer, out *tensor.Tensor) {
			if obsErr != nil || passesQuantized(l.Kind()) {
				return
			}
			o := obs[l.Name()]
			if o == nil {
				if o, obsErr = quant.NewObserver(l.Name(), cfg.Activations); obsErr != nil {
					return
				}
				obs[l.Name()] = o
			}
			obsErr = o.Observe(out)
		})
		err := forEachBatch(ctx, m, calib, batch)
		remove()
		if err == nil {
			err = obsErr
		}
		if err != nil {
			return Eval{}, nil, fmt.Errorf("calibrating: %w", err)
		}
		qps := map[string]*quant.QParams{}
		for name, o := range obs {
			if qps[name], err = o.QParams(); err != nil {
				return Eval{}, nil, err
			}
		}
		var fqErr error
		defer m.Observe(func(l nn.Layer, out *tensor.Tensor) {
			if q := qps[l.Name()]; q != nil && fqErr == nil {
				fqErr = q.FakeQuant(out, out)
			}
		})()
		res, err := train.Evaluate(ctx, m, test, batch)
		if err == nil {
			err = fqErr
		}
		if err != nil {
			return Eval{}, nil, err
		}
		return Eval{Loss: res.Loss, Accuracy: res.Accuracy, N: res.N}, wq, nil
	}
	res, err := train.Evaluate(ctx, m, test, batch)
	if err != nil {
		return Eval{}, nil, err
	}
	return Eval{Loss: res.Loss, Accuracy: res.Accuracy, N: res.N}, wq, nil
}

// layerTable fills rows with one LayerRecord per leaf layer of model and
// returns them by name.
func layerTable(model *nn.Model, calib *data.Dataset, rows *[]LayerRecord) (map[string]*LayerRecord, error) {
	type rng struct{ lo, hi float64 }
	acts := map[string]*rng{}
	remove := model.Observe(func(l nn.Layer, out *tensor.Tensor) {
		r := acts[l.Name()]
		if r == nil {
			r = &rng{math.Inf(1), math.Inf(-1)}
			acts[l.Name()] = r
		}
		for _, v := range out.Data {
			r.lo = math.Min(r.lo, float64(v))
			r.hi = math.Max(r.hi, float64(v))
		}
	})
	err := forEachBatch(context.Background(), model, calib, 256)
	remove()
	if err != nil {
		return nil, fmt.Errorf("sweep: activation ranges: %w", err)
	}
	for _, l := range model.Layers() {
		r := LayerRecord{Layer: l.Name(), Kind: l.Kind()}
		if a := acts[l.Name()]; a != nil {
			r.ActMin, r.ActMax = a.lo, a.hi
		}
		for _, p := range l.Params() {
			if p.Kind != nn.Weight {
				continue
			}
			r.HasWeight = true
			lo, hi := math.Inf(1), math.Inf(-1)
			var s, ss float64
			for _, v := range p.Value.Data {
				x := float64(v)
				lo, hi = math.Min(lo, x), math.Max(hi, x)
				s += x
				ss += x * x
			}
			n := float64(len(p.Value.Data))
			mean := s / n
			r.WeightMin, r.WeightMax = lo, hi
			r.WeightStd = math.Sqrt(math.Max(ss/n-mean*mean, 0))
		}
		*rows = append(*rows, r)
	}
	out := map[string]*LayerRecord{}
	for i := range *rows {
		out[(*rows)[i].Layer] = &(*rows)[i]
	}
	return out, nil
}
