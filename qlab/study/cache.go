package study

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/train"
)

// CacheFormat is part of every cache key. It changes when the entry format
// changes or when a change to the library makes training with an unchanged
// configuration give different weights, so stale entries are never read.
const CacheFormat = 1

// CacheDirEnv names an environment variable that overrides DefaultCacheDir.
const CacheDirEnv = "QLAB_CACHE_DIR"

// DefaultCacheDir returns where trained models are cached when
// CacheOptions.Dir is "": $QLAB_CACHE_DIR when set, otherwise
// <user cache dir>/qlab/models (~/.cache/qlab/models on Linux).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("study: no model cache directory: set $%s (%v)", CacheDirEnv, err)
	}
	return filepath.Join(c, "qlab", "models"), nil
}

// CacheOptions configure the model cache. The zero value caches under
// DefaultCacheDir and reports on standard error.
type CacheOptions struct {
	// Dir holds the entries, one file <key>.model each. "" means
	// DefaultCacheDir.
	Dir string
	// Off trains every time and reads and writes no entry.
	Off bool
	// Log receives one line per model: loaded from the cache, trained and
	// stored, or an entry discarded (corrupt or unreadable) before
	// retraining. nil means standard error; io.Discard silences it.
	Log io.Writer
}

// Trained is a model trained under one configuration, or loaded from the
// cache where that configuration was trained before.
type Trained struct {
	// Model holds the trained weights and batch-norm statistics, in
	// inference mode (as train.Fit leaves a model).
	Model *nn.Model
	// History is the training record, epoch by epoch (for a loaded model,
	// as recorded when it was trained, wall times included).
	History *train.History
	// Key is the cache key: the hex SHA-256 of the configuration.
	Key string
	// Cached is true when the model was loaded rather than trained now.
	Cached bool
}

// Train builds spec, trains it with train.Fit on trainSet (evaluating on
// testSet after every epoch; testSet may be nil) under cfg, and returns it
// — unless the cache holds a model trained under the same configuration,
// which it then loads instead. The configuration is everything that
// determines the result: spec's type and fields (architecture, initializer,
// seed; not its name, a label), cfg (all fields but those that only
// observe or checkpoint: Progress, CheckpointDir, CheckpointEvery,
// RecordRanges), the images, labels and class names of both sets,
// CacheFormat and the qlab module version. A model loaded from the cache is
// bit-identical to the one training would give; an entry written without
// per-layer ranges does not serve a cfg with RecordRanges. ctx cancels
// training (nothing is cached then). With opts.Off it always trains.
func Train(ctx context.Context, spec arch.Spec, trainSet, testSet *data.Dataset, cfg train.Config, opts CacheOptions) (*Trained, error) {
	if !opts.Off {
		t, err := opts.Load(spec, trainSet, testSet, cfg)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, ErrNotCached) {
			return nil, err
		}
	}
	if spec == nil {
		return nil, errors.New("study: train: nil spec")
	}
	model, err := spec.Build()
	if err != nil {
		return nil, fmt.Errorf("study: train: %w", err)
	}
	if trainSet == nil {
		return nil, fmt.Errorf("study: train %q: nil training set", model.Name())
	}
	cfg.CheckpointDir = ""
	hist, err := train.Fit(ctx, model, trainSet, testSet, cfg)
	if err != nil {
		return nil, fmt.Errorf("study: train %q: %w", model.Name(), err)
	}
	// Training leaves every layer holding buffers sized for the largest
	// batch it ran (forward outputs, gradients): about 100 MB for the
	// notebooks' small networks at the evaluation batch of 256. A model
	// rebuilt from the spec and loaded with the trained state is the same
	// network, bit for bit, without them.
	state := model.State()
	fresh, err := spec.Build()
	if err == nil {
		err = fresh.LoadState(state)
	}
	if err != nil {
		return nil, fmt.Errorf("study: train %q: reloading the trained state: %w", model.Name(), err)
	}
	model = fresh
	model.Eval()
	key, _, err := cacheKey(spec, trainSet, testSet, cfg)
	if err != nil {
		return nil, fmt.Errorf("study: train %q: %w", model.Name(), err)
	}
	if !opts.Off {
		opts.Store(spec, trainSet, testSet, cfg, model, hist)
	}
	return &Trained{Model: model, History: hist, Key: key}, nil
}

// ErrNotCached is returned (wrapped) by CacheOptions.Load when the cache
// holds no model for the configuration.
var ErrNotCached = errors.New("study: model not in the cache")

func (o CacheOptions) log() io.Writer {
	if o.Log == nil {
		return os.Stderr
	}
	return o.Log
}

func (o CacheOptions) path(key string) (string, error) {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, key+".model"), nil
}

// Load returns the model the cache holds for this configuration (see
// Train for what the configuration is), built from spec and loaded with
// the cached state, in inference mode. Without an entry it returns an error
// wrapping ErrNotCached; an entry it cannot use (corrupt, of another key,
// not fitting spec's model, or without the per-layer ranges cfg.RecordRanges
// asks for) is reported on Log and also gives ErrNotCached, so the caller
// trains again and Store replaces it.
func (o CacheOptions) Load(spec arch.Spec, trainSet, testSet *data.Dataset, cfg train.Config) (*Trained, error) {
	if spec == nil {
		return nil, errors.New("study: cache: nil spec")
	}
	if trainSet == nil {
		return nil, errors.New("study: cache: nil training set")
	}
	model, err := spec.Build()
	if err != nil {
		return nil, fmt.Errorf("study: cache: %w", err)
	}
	key, _, err := cacheKey(spec, trainSet, testSet, cfg)
	if err != nil {
		return nil, fmt.Errorf("study: cache %q: %w", model.Name(), err)
	}
	path, err := o.path(key)
	if err != nil {
		return nil, err
	}
	hist, err := readEntry(path, key, model, cfg.RecordRanges)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(o.log(), "study: %s: discarding cache entry: %v; training again\n", model.Name(), err)
		}
		return nil, fmt.Errorf("%w: %s", ErrNotCached, model.Name())
	}
	fmt.Fprintf(o.log(), "study: %s: loaded from the cache (%s)\n", model.Name(), path)
	model.Eval()
	return &Trained{Model: model, History: hist, Key: key, Cached: true}, nil
}

// Store writes model (its State) and hist to the cache under this
// configuration's key, atomically, and reports it on Log. A failure to
// write is reported on Log and returned; the model is unaffected.
func (o CacheOptions) Store(spec arch.Spec, trainSet, testSet *data.Dataset, cfg train.Config, model *nn.Model, hist *train.History) error {
	key, config, err := cacheKey(spec, trainSet, testSet, cfg)
	if err == nil {
		var path string
		if path, err = o.path(key); err == nil {
			if err = writeEntry(path, entry{Key: key, Config: config, State: model.State(), History: *hist}); err == nil {
				fmt.Fprintf(o.log(), "study: %s: trained and cached (%s)\n", model.Name(), path)
				return nil
			}
		}
	}
	fmt.Fprintf(o.log(), "study: %s: trained, but not cached: %v\n", model.Name(), err)
	return fmt.Errorf("study: cache %q: %w", model.Name(), err)
}

// keyDoc is what a cache key hashes, as JSON.
type keyDoc struct {
	Format   int             `json:"format"`
	Module   string          `json:"module"`
	SpecType string          `json:"spec_type"`
	Spec     json.RawMessage `json:"spec"`
	Train    train.Config    `json:"train"`
	TrainSet string          `json:"train_set"`
	TestSet  string          `json:"test_set"`
}

// cacheKey returns the key of a configuration and the JSON it hashes. The
// model's name (a label), and the training options that only observe or
// checkpoint (Progress, CheckpointDir, CheckpointEvery, RecordRanges) are
// left out: they do not change the trained weights, so a sweep trial and a
// notebook asking for the same network share its entry.
func cacheKey(spec arch.Spec, trainSet, testSet *data.Dataset, cfg train.Config) (string, []byte, error) {
	s, err := json.Marshal(spec)
	if err != nil {
		return "", nil, fmt.Errorf("spec: %w", err)
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(s, &fields) == nil {
		delete(fields, "name")
		if s, err = json.Marshal(fields); err != nil { // sorted keys
			return "", nil, fmt.Errorf("spec: %w", err)
		}
	}
	cfg.Progress, cfg.CheckpointDir, cfg.CheckpointEvery, cfg.RecordRanges = nil, "", 0, false
	doc := keyDoc{Format: CacheFormat, Module: moduleVersion(), SpecType: fmt.Sprintf("%T", spec), Spec: s,
		Train: cfg, TrainSet: Fingerprint(trainSet), TestSet: Fingerprint(testSet)}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b, nil
}

// moduleVersion is the qlab module version this binary was built with
// ("(devel)" for a build inside the repository).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	const mod = "github.com/qlab-dev/qlab"
	if bi.Main.Path == mod {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return "unknown"
}

// Fingerprint returns the hex SHA-256 of a dataset's content: its image
// shape, pixels (float32 bits), labels and class names — not its name, so
// the same images read from two places share cache entries. A nil dataset
// gives "".
func Fingerprint(d *data.Dataset) string {
	if d == nil || d.Images == nil {
		return ""
	}
	h := sha256.New()
	w := bufio.NewWriterSize(h, 1<<16)
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		w.Write(b[:])
	}
	put(uint64(len(d.Images.Shape)))
	for _, s := range d.Images.Shape {
		put(uint64(s))
	}
	for _, v := range d.Images.Data {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
		w.Write(b[:4])
	}
	put(uint64(len(d.Labels)))
	for _, l := range d.Labels {
		put(uint64(l))
	}
	put(uint64(len(d.Classes)))
	for _, c := range d.Classes {
		put(uint64(len(c)))
		w.WriteString(c)
	}
	w.Flush()
	return hex.EncodeToString(h.Sum(nil))
}

// entry is a cache file's payload.
type entry struct {
	Key     string
	Config  []byte // the JSON the key hashes, for people reading the cache
	State   map[string][]float32
	History train.History
}

// entryMagic starts every cache file; the SHA-256 of the gob payload
// follows it, then the payload.
const entryMagic = "qlab-model-cache\n"

func writeEntry(path string, e entry) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(&e); err != nil {
		return err
	}
	sum := sha256.Sum256(payload.Bytes())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".entry-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString(entryMagic)
	w.Write(sum[:])
	w.Write(payload.Bytes())
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// readEntry loads the entry at path into model and returns its history. A
// missing entry is an error wrapping fs.ErrNotExist; anything else wrong
// (bad magic or checksum, undecodable payload, another key, parameters
// that do not fit model, no per-layer ranges when ranges asks for them) is
// an error saying so.
func readEntry(path, key string, model *nn.Model, ranges bool) (*train.History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < len(entryMagic)+sha256.Size || string(b[:len(entryMagic)]) != entryMagic {
		return nil, fmt.Errorf("%s: not a model cache entry", path)
	}
	payload := b[len(entryMagic)+sha256.Size:]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], b[len(entryMagic):len(entryMagic)+sha256.Size]) {
		return nil, fmt.Errorf("%s: checksum mismatch (corrupt entry)", path)
	}
	var e entry
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&e); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if e.Key != key {
		return nil, fmt.Errorf("%s: holds key %s", path, e.Key)
	}
	if ranges && (len(e.History.Records) == 0 || len(e.History.Records[0].Ranges) == 0) {
		return nil, fmt.Errorf("%s: trained without per-layer ranges (train.Config.RecordRanges)", path)
	}
	if err := model.LoadState(e.State); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &e.History, nil
}
