package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/study"
	"github.com/qlab-dev/qlab/qlab/train"
)

// ErrSpec is wrapped by every error about a bad sweep spec; the message
// names the field and the value that is wrong.
var ErrSpec = errors.New("sweep: bad spec")

// specVersion is part of every trial ID; it changes when a trial's meaning
// changes (what DefaultTrial computes for the same settings).
const specVersion = 2

// Spec is a sweep: the grid's axes, the settings shared by every trial and
// where the results go. Every trial trains one (architecture, initializer,
// seed) combination and evaluates the trained model under every
// quantization config of Quant: training is where the time goes, and a
// quantization config does not change training, so configs are not trained
// separately. Statistics are still per (architecture, initializer, config).
//
// The zero value is not a sweep: Architectures, Initializers and Seeds must
// each hold at least one value.
type Spec struct {
	// Name labels the sweep in tables and Slurm job names; "" means "sweep".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Architectures is the architecture axis: presets by name
	// ("refnet-s", "refnet-dws", "vgg", "resnet20", "mobilenet-v1",
	// "mobilenet-v2", "tiny-vgg") or spec structs. Input shape and class
	// count always come from the data; initializer and seed from the other
	// axes.
	Architectures []Architecture `json:"architectures" yaml:"architectures"`
	// Initializers is the initializer axis, by initializers.Parse names
	// ("he_normal", "random_uniform(0.1)", ...).
	Initializers []string `json:"initializers" yaml:"initializers"`
	// Seeds is the seed axis. A trial's seed initializes the weights and
	// orders (and augments) the training data, so seeds are the replicates
	// the confidence intervals are taken over.
	Seeds []uint64 `json:"seeds" yaml:"seeds"`
	// Quant lists the quantization configs every trained model is
	// evaluated under; nil means {"quint8"}, the papers' scheme.
	Quant []QuantSpec `json:"quant" yaml:"quant"`
	// PTQ is the post-training method axis: method combinations in
	// quant.ParsePTQ's syntax ("plain", "cle", "cle+bc", "adaround",
	// "bn+cle+abc", ...) applied to every config of Quant, each recorded as
	// its own config named "<config>+<methods>" ("plain" keeps the bare
	// config name). nil means {"plain"}. Like Quant, methods do not change
	// training: every trained model is evaluated under each combination.
	PTQ []string `json:"ptq,omitempty" yaml:"ptq,omitempty"`
	// Train configures train.Fit; its zero value trains one epoch of SGD
	// with momentum. Train.Seed is replaced by the trial's seed and
	// Train.CheckpointDir by the trial's directory.
	Train train.Config `json:"train" yaml:"train"`
	// Data selects the dataset and the subsets used; the zero value is all
	// of MNIST.
	Data DataSpec `json:"data" yaml:"data"`
	// Metrics lists what a record holds beyond the accuracies: "layers"
	// (a per-layer table: weight range and standard deviation, calibrated
	// activation range, weight SQNR under each config) and "history" (the
	// per-epoch training history). nil means both; an empty list neither.
	Metrics []string `json:"metrics" yaml:"metrics"`
	// ResultsDir is the results store's directory. It is not part of any
	// trial's identity, so a store can be moved.
	ResultsDir string `json:"results_dir,omitempty" yaml:"results_dir,omitempty"`
}

// Metric names accepted in Spec.Metrics.
const (
	MetricLayers  = "layers"
	MetricHistory = "history"
)

// Architecture is one value of the architecture axis: a named preset, or
// exactly one spec struct. In JSON and YAML a plain string is a preset.
type Architecture struct {
	// Label names the architecture in trial IDs' settings, tables and
	// figures; "" means the preset name, else the spec's Name, else its
	// kind ("vgg", "resnet", "mobilenet_v1", "mobilenet_v2").
	Label       string                `json:"label,omitempty" yaml:"label,omitempty"`
	Preset      string                `json:"preset,omitempty" yaml:"preset,omitempty"`
	VGG         *arch.VGGSpec         `json:"vgg,omitempty" yaml:"vgg,omitempty"`
	ResNet      *arch.ResNetSpec      `json:"resnet,omitempty" yaml:"resnet,omitempty"`
	MobileNetV1 *arch.MobileNetV1Spec `json:"mobilenet_v1,omitempty" yaml:"mobilenet_v1,omitempty"`
	MobileNetV2 *arch.MobileNetV2Spec `json:"mobilenet_v2,omitempty" yaml:"mobilenet_v2,omitempty"`
}

// Preset returns the Architecture of a named preset.
func Preset(name string) Architecture { return Architecture{Preset: name} }

// UnmarshalJSON accepts a preset name as a plain string.
func (a *Architecture) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = Architecture{Preset: s}
		return nil
	}
	type plain Architecture
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Architecture(p)
	return nil
}

// presetNames lists the presets in the order errors print them.
var presetNames = []string{"refnet-s", "refnet-dws", "vgg", "tiny-vgg", "resnet20", "mobilenet-v1", "mobilenet-v2"}

func presetSpec(name string) (arch.Spec, bool) {
	switch name {
	case "refnet-s":
		return arch.RefNetS(), true
	case "refnet-dws":
		return arch.RefNetDWS(), true
	case "vgg":
		return arch.VGGSpec{Name: "vgg"}, true
	case "tiny-vgg":
		// Two narrow stages: seconds per MNIST epoch, for smoke tests.
		return arch.VGGSpec{Name: "tiny-vgg", Stages: [][]int{{8}, {16}}, BatchNorm: true}, true
	case "resnet20":
		return arch.ResNetSpec{Name: "resnet20", BatchNorm: true}, true
	case "mobilenet-v1":
		return arch.MobileNetV1Spec{Name: "mobilenet-v1", BatchNorm: true}, true
	case "mobilenet-v2":
		return arch.MobileNetV2Spec{Name: "mobilenet-v2", BatchNorm: true}, true
	}
	return nil, false
}

// spec returns the architecture's spec with input, classes, initializer
// and seed set, its label, and its kind.
func (a Architecture) spec(input []int, classes int, init initializers.Initializer, seed uint64) (arch.Spec, string, error) {
	n := 0
	for _, set := range []bool{a.Preset != "", a.VGG != nil, a.ResNet != nil, a.MobileNetV1 != nil, a.MobileNetV2 != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, "", fmt.Errorf("%w: architecture %q sets %d of preset, vgg, resnet, mobilenet_v1, mobilenet_v2; want exactly 1", ErrSpec, a.Label, n)
	}
	var s arch.Spec
	if a.Preset != "" {
		p, ok := presetSpec(a.Preset)
		if !ok {
			return nil, "", fmt.Errorf("%w: unknown architecture preset %q (known: %s)", ErrSpec, a.Preset, strings.Join(presetNames, ", "))
		}
		s = p
	}
	in := slices.Clone(input)
	label := a.Label
	setName := func(name *string, kind string) {
		if label == "" {
			label = *name
		}
		if label == "" {
			label = kind
		}
	}
	switch {
	case a.VGG != nil:
		s = *a.VGG
	case a.ResNet != nil:
		s = *a.ResNet
	case a.MobileNetV1 != nil:
		s = *a.MobileNetV1
	case a.MobileNetV2 != nil:
		s = *a.MobileNetV2
	}
	switch v := s.(type) {
	case arch.VGGSpec:
		setName(&v.Name, "vgg")
		v.Input, v.Classes, v.Init, v.Seed = in, classes, init, seed
		v.Stages = slices.Clone(v.Stages)
		s = v
	case arch.ResNetSpec:
		setName(&v.Name, "resnet")
		v.Input, v.Classes, v.Init, v.Seed = in, classes, init, seed
		s = v
	case arch.MobileNetV1Spec:
		setName(&v.Name, "mobilenet_v1")
		v.Input, v.Classes, v.Init, v.Seed = in, classes, init, seed
		s = v
	case arch.MobileNetV2Spec:
		setName(&v.Name, "mobilenet_v2")
		v.Input, v.Classes, v.Init, v.Seed = in, classes, init, seed
		s = v
	}
	return s, label, nil
}

func archKind(s arch.Spec) string {
	switch s.(type) {
	case arch.VGGSpec:
		return "vgg"
	case arch.ResNetSpec:
		return "resnet"
	case arch.MobileNetV1Spec:
		return "mobilenet_v1"
	case arch.MobileNetV2Spec:
		return "mobilenet_v2"
	}
	return fmt.Sprintf("%T", s)
}

// QuantSpec is one quantization config: a preset by Name ("quint8",
// "tflite_int8", "fbgemm"), or any Name with an explicit Config. In JSON
// and YAML a plain string is a preset.
type QuantSpec struct {
	Name   string        `json:"name" yaml:"name"`
	Config *quant.Config `json:"config,omitempty" yaml:"config,omitempty"`
}

// UnmarshalJSON accepts a preset name as a plain string.
func (q *QuantSpec) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*q = QuantSpec{Name: s}
		return nil
	}
	type plain QuantSpec
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*q = QuantSpec(p)
	return nil
}

var quantPresetNames = []string{"quint8", "tflite_int8", "fbgemm"}

func (q QuantSpec) resolved() (QuantSpec, error) {
	if q.Name == "" {
		return q, fmt.Errorf("%w: quantization config without a name", ErrSpec)
	}
	if q.Config == nil {
		var c quant.Config
		switch strings.ReplaceAll(strings.ToLower(q.Name), "-", "_") {
		case "quint8":
			c = quant.QUInt8()
		case "tflite_int8", "tfliteint8":
			c = quant.TFLiteInt8()
		case "fbgemm":
			c = quant.FBGEMM()
		default:
			return q, fmt.Errorf("%w: unknown quantization preset %q (known: %s; or give a config)", ErrSpec, q.Name, strings.Join(quantPresetNames, ", "))
		}
		q.Config = &c
	}
	if err := q.Config.Validate(); err != nil {
		return q, fmt.Errorf("%w: quantization config %q: %v", ErrSpec, q.Name, err)
	}
	return q, nil
}

// DataSpec selects the data of every trial.
type DataSpec struct {
	// Dataset is a name data.Load reads: "mnist" (the default: the copy
	// inside the GoMNIST Go module, or IDX files in Dir), "fashion-mnist"
	// (IDX files in Dir, default data.FashionMNISTDir) or "cifar10" (the
	// binary version in Dir, default data.DefaultCIFAR10Dir).
	Dataset string `json:"dataset,omitempty" yaml:"dataset,omitempty"`
	// Dir is where the files are; it is not part of trial IDs, so the same
	// sweep can read its data from different paths on different machines.
	Dir string `json:"dir,omitempty" yaml:"dir,omitempty"`
	// TrainSubset and TestSubset keep the first n samples of each set;
	// 0 means all.
	TrainSubset int `json:"train_subset,omitempty" yaml:"train_subset,omitempty"`
	TestSubset  int `json:"test_subset,omitempty" yaml:"test_subset,omitempty"`
	// CalibrationSubset is the number of training images (the first ones)
	// that calibrate activation ranges; 0 means 512 (or the whole training
	// subset if smaller).
	CalibrationSubset int `json:"calibration_subset,omitempty" yaml:"calibration_subset,omitempty"`
}

func (d DataSpec) resolved() (DataSpec, error) {
	name, err := data.CanonicalName(d.Dataset)
	if err != nil {
		return d, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	d.Dataset = name
	if d.TrainSubset < 0 || d.TestSubset < 0 || d.CalibrationSubset < 0 {
		return d, fmt.Errorf("%w: data subsets train %d, test %d, calibration %d; want >= 0", ErrSpec, d.TrainSubset, d.TestSubset, d.CalibrationSubset)
	}
	if d.CalibrationSubset == 0 {
		d.CalibrationSubset = 512
	}
	return d, nil
}

// dataShape returns the per-sample shape and class count of a dataset
// name, known without reading it.
func dataShape(dataset string) ([]int, int) {
	if dataset == "cifar10" {
		return []int{3, 32, 32}, 10
	}
	return []int{1, 28, 28}, 10
}

// TrialSpec is everything one trial needs: one point of the grid with the
// shared settings resolved. Index is its position in Spec.Trials (the
// Slurm array index); ID is the hash of the rest.
type TrialSpec struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	// Arch is the architecture's label; ArchKind and ArchSpec its resolved
	// spec (input, classes, initializer and seed set), ready for Build, and
	// ArchJSON that spec as JSON. A TrialSpec read back from a record has
	// ArchJSON but a nil ArchSpec (an interface JSON cannot restore); take
	// trials from Spec.Trials or Store.Trials to run them.
	Arch     string          `json:"arch"`
	ArchKind string          `json:"arch_kind"`
	ArchSpec arch.Spec       `json:"-"`
	ArchJSON json.RawMessage `json:"arch_spec"`
	// Init is the initializer's canonical name (Initializer.String()).
	Init        string                   `json:"init"`
	Initializer initializers.Initializer `json:"-"`
	Seed        uint64                   `json:"seed"`
	Quant       []QuantSpec              `json:"quant"`
	PTQ         []string                 `json:"ptq,omitempty"`
	Train       train.Config             `json:"train"`
	Data        DataSpec                 `json:"data"`
	Metrics     []string                 `json:"metrics"`
	// Models, when set, is the model cache DefaultTrial reuses trained
	// networks from (Run sets it from Options.Models). It is not part of
	// the trial's identity: a cached network is the one training gives.
	Models *study.CacheOptions `json:"-"`
}

// Has reports whether the trial records the named metric.
func (t *TrialSpec) Has(metric string) bool { return slices.Contains(t.Metrics, metric) }

// identity is what a trial ID hashes: every setting that can change a
// trial's result, and nothing that cannot (index, paths).
type identity struct {
	Version  int             `json:"version"`
	Arch     string          `json:"arch"`
	ArchKind string          `json:"arch_kind"`
	ArchSpec json.RawMessage `json:"arch_spec"`
	Init     string          `json:"init"`
	Seed     uint64          `json:"seed"`
	Quant    []QuantSpec     `json:"quant"`
	PTQ      []string        `json:"ptq,omitempty"`
	Train    train.Config    `json:"train"`
	Data     DataSpec        `json:"data"`
	Metrics  []string        `json:"metrics"`
}

func (t *TrialSpec) identity() identity {
	d := t.Data
	d.Dir = ""
	return identity{Version: specVersion, Arch: t.Arch, ArchKind: t.ArchKind, ArchSpec: t.ArchJSON, Init: t.Init,
		Seed: t.Seed, Quant: t.Quant, PTQ: t.PTQ, Train: t.Train, Data: d, Metrics: t.Metrics}
}

// CanonicalJSON returns the JSON the trial's ID hashes. encoding/json
// writes struct fields in declaration order and floats in their shortest
// round-trip form, so equal settings give equal bytes.
func (t *TrialSpec) CanonicalJSON() []byte {
	b, err := json.Marshal(t.identity())
	if err != nil {
		panic(fmt.Sprintf("sweep: trial settings do not marshal: %v", err)) // plain data; impossible
	}
	return b
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// resolved returns a copy of s with defaults applied and every axis value
// checked.
func (s *Spec) resolved() (*Spec, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil spec", ErrSpec)
	}
	r := *s
	if r.Name == "" {
		r.Name = "sweep"
	}
	var empty []string
	if len(r.Architectures) == 0 {
		empty = append(empty, "architectures")
	}
	if len(r.Initializers) == 0 {
		empty = append(empty, "initializers")
	}
	if len(r.Seeds) == 0 {
		empty = append(empty, "seeds")
	}
	if len(empty) > 0 {
		return nil, fmt.Errorf("%w: empty grid: no %s", ErrSpec, strings.Join(empty, ", no "))
	}
	if r.Quant == nil {
		r.Quant = []QuantSpec{{Name: "quint8"}}
	}
	r.Quant = slices.Clone(r.Quant)
	seen := map[string]bool{}
	for i, q := range r.Quant {
		rq, err := q.resolved()
		if err != nil {
			return nil, err
		}
		if seen[rq.Name] {
			return nil, fmt.Errorf("%w: quantization config %q listed twice", ErrSpec, rq.Name)
		}
		seen[rq.Name] = true
		r.Quant[i] = rq
	}
	r.PTQ = slices.Clone(r.PTQ)
	seenPTQ := map[string]bool{}
	for i, name := range r.PTQ {
		p, err := quant.ParsePTQ(name)
		if err != nil {
			return nil, fmt.Errorf("%w: ptq[%d]: %v", ErrSpec, i, err)
		}
		if seenPTQ[p.String()] {
			return nil, fmt.Errorf("%w: PTQ method %q listed twice", ErrSpec, p.String())
		}
		seenPTQ[p.String()] = true
		r.PTQ[i] = p.String()
	}
	if len(r.PTQ) == 1 && r.PTQ[0] == "plain" {
		// The same trials as no axis at all (and the same trial IDs).
		r.PTQ = nil
	}
	if r.Metrics == nil {
		r.Metrics = []string{MetricHistory, MetricLayers}
	}
	r.Metrics = slices.Clone(r.Metrics)
	sort.Strings(r.Metrics)
	r.Metrics = slices.Compact(r.Metrics)
	for _, m := range r.Metrics {
		if m != MetricLayers && m != MetricHistory {
			return nil, fmt.Errorf("%w: unknown metric %q (known: %s, %s)", ErrSpec, m, MetricHistory, MetricLayers)
		}
	}
	var err error
	if r.Data, err = r.Data.resolved(); err != nil {
		return nil, err
	}
	if r.Train.CheckpointDir != "" {
		return nil, fmt.Errorf("%w: train.checkpoint_dir %q: the sweep places checkpoints in each trial's directory", ErrSpec, r.Train.CheckpointDir)
	}
	r.Train.Progress = nil
	r.Train.Seed = 0
	return &r, nil
}

// Trials expands the grid, architecture-major, then initializer, then
// seed: trial i of a spec is always the same trial. Unknown presets,
// initializer names, quantization presets or metrics, duplicate axis
// values and empty axes are errors wrapping ErrSpec.
func (s *Spec) Trials() ([]TrialSpec, error) {
	r, err := s.resolved()
	if err != nil {
		return nil, err
	}
	inits := make([]initializers.Initializer, len(r.Initializers))
	initNames := map[string]bool{}
	for i, name := range r.Initializers {
		in, err := initializers.Parse(name)
		if err != nil {
			return nil, fmt.Errorf("%w: initializer %q: %v", ErrSpec, name, err)
		}
		if initNames[in.String()] {
			return nil, fmt.Errorf("%w: initializer %q listed twice", ErrSpec, in.String())
		}
		initNames[in.String()] = true
		inits[i] = in
	}
	seeds := map[uint64]bool{}
	for _, sd := range r.Seeds {
		if seeds[sd] {
			return nil, fmt.Errorf("%w: seed %d listed twice", ErrSpec, sd)
		}
		seeds[sd] = true
	}
	input, classes := dataShape(r.Data.Dataset)
	labels := map[string]bool{}
	var out []TrialSpec
	for _, a := range r.Architectures {
		// Check the architecture once, building it, so a bad spec fails
		// here rather than in every trial.
		as, label, err := a.spec(input, classes, inits[0], r.Seeds[0])
		if err != nil {
			return nil, err
		}
		if labels[label] {
			return nil, fmt.Errorf("%w: architecture label %q listed twice (set Label to tell them apart)", ErrSpec, label)
		}
		labels[label] = true
		if _, err := as.Build(); err != nil {
			return nil, fmt.Errorf("%w: architecture %q: %v", ErrSpec, label, err)
		}
		for _, in := range inits {
			for _, sd := range r.Seeds {
				as, _, _ := a.spec(input, classes, in, sd)
				t := TrialSpec{Index: len(out), Arch: label, ArchKind: archKind(as), ArchSpec: as,
					Init: in.String(), Initializer: in, Seed: sd, Quant: r.Quant, PTQ: r.PTQ, Train: r.Train,
					Data: r.Data, Metrics: r.Metrics}
				t.Train.Seed = sd
				if t.ArchJSON, err = json.Marshal(as); err != nil {
					return nil, fmt.Errorf("%w: architecture %q: %v", ErrSpec, label, err)
				}
				t.ID = hashHex(t.CanonicalJSON())
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// Hash identifies the spec's results: the hash of its trials' IDs in
// order (so paths, which IDs leave out, do not change it).
func (s *Spec) Hash() (string, error) {
	ts, err := s.Trials()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	for _, t := range ts {
		b.WriteString(t.ID)
		b.WriteByte('\n')
	}
	return hashHex(b.Bytes()), nil
}

// JSON returns the spec as indented JSON, the form LoadSpec reads back.
func (s *Spec) JSON() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// ParseSpec reads a spec from JSON or YAML text (YAML is a superset of
// JSON; YAML keys are the JSON names). Unknown fields are errors, so a
// misspelt key is not silently ignored.
func ParseSpec(text []byte) (*Spec, error) {
	var generic any
	if err := yaml.Unmarshal(text, &generic); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	j, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	return &s, nil
}

// LoadSpec reads a spec file (.json, .yaml or .yml). A relative
// ResultsDir or Data.Dir is taken relative to the file's directory, so a
// spec, its data and its results can travel together.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	s, err := ParseSpec(b)
	if err != nil {
		return nil, fmt.Errorf("sweep: spec %s: %w", path, err)
	}
	if s.ResultsDir != "" && !filepath.IsAbs(s.ResultsDir) {
		s.ResultsDir = filepath.Join(filepath.Dir(path), s.ResultsDir)
	}
	if s.Data.Dir != "" && !filepath.IsAbs(s.Data.Dir) {
		s.Data.Dir = filepath.Join(filepath.Dir(path), s.Data.Dir)
	}
	return s, nil
}
