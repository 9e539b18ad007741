package sweep

import "github.com/qlab-dev/qlab/qlab/train"

// Record is everything a finished trial computed. Two runs of the same
// trial give byte-identical record files: nothing in it depends on the
// clock, the host or GOMAXPROCS (wall-clock facts go to Timing).
type Record struct {
	ID    string    `json:"id"`
	Index int       `json:"index"`
	Trial TrialSpec `json:"trial"`
	// Params is the number of trainable parameters.
	Params int `json:"params"`
	// FP32 is the float model's test-set evaluation.
	FP32 Eval `json:"fp32"`
	// Quant holds one evaluation per quantization config, in spec order.
	Quant []QuantEval `json:"quant"`
	// Layers is the per-layer table (metric "layers").
	Layers []LayerRecord `json:"layers,omitempty"`
	// History is the per-epoch training history (metric "history"), with
	// the wall-clock Seconds zeroed.
	History []train.EpochRecord `json:"history,omitempty"`
}

// Eval is a test-set evaluation: mean cross-entropy (nats per sample) and
// top-1 accuracy (fraction in [0, 1]) over N samples.
type Eval struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	N        int     `json:"n"`
}

// QuantEval is the fake-quantized model's evaluation under one config.
type QuantEval struct {
	// Config names the quantization config, with "+<methods>" appended
	// for a PTQ method other than plain (Spec.PTQ).
	Config string `json:"config"`
	// Method is the PTQ method combination ("" for plain).
	Method string `json:"method,omitempty"`
	Eval
	// Drop is FP32 accuracy minus quantized accuracy (fraction; positive
	// when quantization hurts).
	Drop float64 `json:"drop"`
}

// LayerRecord describes one leaf layer of the trained model. Weight
// fields are for layers with a weight (HasWeight); activation ranges are
// of the layer's output over the calibration images in inference mode.
type LayerRecord struct {
	Layer     string  `json:"layer"`
	Kind      string  `json:"kind"`
	HasWeight bool    `json:"has_weight"`
	WeightMin float64 `json:"weight_min"`
	WeightMax float64 `json:"weight_max"`
	WeightStd float64 `json:"weight_std"`
	ActMin    float64 `json:"act_min"`
	ActMax    float64 `json:"act_max"`
	// WeightMSE maps each quantization config to the mean squared error of
	// this layer's weight after BN folding (when the config folds) and
	// fake quantization; WeightPower is the folded weight's mean square,
	// so SQNR = 10 log10(WeightPower / WeightMSE) dB.
	WeightMSE   map[string]float64 `json:"weight_mse,omitempty"`
	WeightPower map[string]float64 `json:"weight_power,omitempty"`
}

// Failure is what a failed trial leaves: the error, for a later retry.
type Failure struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
	Arch  string `json:"arch"`
	Init  string `json:"init"`
	Seed  uint64 `json:"seed"`
	Error string `json:"error"`
	Host  string `json:"host"`
}

// Timing holds a trial's wall-clock facts, apart from its Record.
type Timing struct {
	ID      string  `json:"id"`
	Host    string  `json:"host"`
	PID     int     `json:"pid"`
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
}
