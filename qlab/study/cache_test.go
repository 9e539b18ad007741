package study

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/train"
)

func tinyData(t *testing.T) (*data.Dataset, *data.Dataset) {
	t.Helper()
	tr, te, err := data.Load("mnist", data.LoadOptions{TrainN: 96, TestN: 48})
	if err != nil {
		t.Fatal(err) // MNIST is embedded; not reading it is a failure, not a reason to skip
	}
	return tr, te
}

func tinySpec(init initializers.Initializer) arch.VGGSpec {
	return arch.VGGSpec{Name: "tiny", Input: []int{1, 28, 28}, Stages: [][]int{{4}, {8}}, BatchNorm: true, Init: init, Seed: 3}
}

var tinyConfig = train.Config{Epochs: 2, BatchSize: 32, Seed: 5, Optimizer: train.SGD(0.05, 0.9), RecordRanges: true}

// TestTrainCache checks that a second Train with the same configuration
// loads what the first trained, bit for bit, and that a corrupt entry is
// reported and retrained to the same weights.
func TestTrainCache(t *testing.T) {
	trainSet, testSet := tinyData(t)
	var log bytes.Buffer
	opts := CacheOptions{Dir: t.TempDir(), Log: &log}
	ctx := context.Background()
	first, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || !strings.Contains(log.String(), "trained and cached") {
		t.Fatalf("first run: cached %v, log %q; want trained and cached", first.Cached, log.String())
	}
	// A fresh model trained without the cache is the reference.
	ref, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, CacheOptions{Off: true})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cached || second.Key != first.Key {
		t.Fatalf("second run: cached %v key %s; want cached under %s", second.Cached, second.Key, first.Key)
	}
	if second.Model.Training() || ref.Model.Training() {
		t.Error("trained or loaded model is in training mode; want inference mode")
	}
	if !reflect.DeepEqual(second.Model.State(), ref.Model.State()) {
		t.Error("cached model differs from a model trained without the cache")
	}
	if len(second.History.Records) != 2 || !reflect.DeepEqual(second.History.Records[1].Ranges, ref.History.Records[1].Ranges) ||
		second.History.Last().TestAccuracy != ref.History.Last().TestAccuracy {
		t.Errorf("cached history %+v differs from the reference %+v", second.History.Last(), ref.History.Last())
	}

	// Corrupt the entry: one flipped byte in the payload.
	path := filepath.Join(opts.Dir, first.Key+".model")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	third, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if third.Cached || !strings.Contains(log.String(), "checksum mismatch") || !strings.Contains(log.String(), "training again") {
		t.Errorf("corrupt entry: cached %v, log %q; want a discarded entry and a retrain", third.Cached, log.String())
	}
	if !reflect.DeepEqual(third.Model.State(), ref.Model.State()) {
		t.Error("model retrained after a corrupt entry differs from the reference")
	}
	// The retrain rewrote the entry; no temporary files are left behind.
	entries, _ := os.ReadDir(opts.Dir)
	if len(entries) != 1 || entries[0].Name() != first.Key+".model" {
		t.Errorf("cache dir holds %v; want only %s.model", entries, first.Key)
	}
	// A truncated entry too.
	if err := os.WriteFile(path, b[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if fourth, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, opts); err != nil || fourth.Cached {
		t.Errorf("truncated entry: %v, cached %v; want a retrain", err, fourth != nil && fourth.Cached)
	}
}

// TestCacheKey checks that every part of the configuration changes the key
// and that progress callbacks and the data set's name do not.
func TestCacheKey(t *testing.T) {
	trainSet, testSet := tinyData(t)
	base, _, err := cacheKey(tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig)
	if err != nil {
		t.Fatal(err)
	}
	renamed := *trainSet
	renamed.Name = "other name"
	cfgProgress := tinyConfig
	cfgProgress.Progress = func(train.Progress) {}
	named := tinySpec(initializers.HeNormal())
	named.Name = "another label"
	observe := tinyConfig
	observe.RecordRanges, observe.CheckpointEvery, observe.CheckpointDir = false, 3, "/tmp/x"
	same := map[string]func() (string, []byte, error){
		"model name": func() (string, []byte, error) { return cacheKey(named, trainSet, testSet, tinyConfig) },
		"observers": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet, testSet, observe)
		},
		"progress": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet, testSet, cfgProgress)
		},
		"data name": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), &renamed, testSet, tinyConfig)
		},
	}
	for name, f := range same {
		if k, _, err := f(); err != nil || k != base {
			t.Errorf("%s: key %s, %v; want unchanged %s", name, k, err, base)
		}
	}
	seed := tinySpec(initializers.HeNormal())
	seed.Seed++
	epochs := tinyConfig
	epochs.Epochs++
	lr := tinyConfig
	lr.Optimizer.LR = 0.01
	pixel := trainSet.Clone()
	pixel.Images.Data[100] += 1.0 / 255
	label := testSet.Clone()
	label.Labels[0] = (label.Labels[0] + 1) % 10
	differ := map[string]func() (string, []byte, error){
		"init": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.GlorotUniform()), trainSet, testSet, tinyConfig)
		},
		"seed": func() (string, []byte, error) { return cacheKey(seed, trainSet, testSet, tinyConfig) },
		"epochs": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet, testSet, epochs)
		},
		"lr": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet, testSet, lr)
		},
		"pixel": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), pixel, testSet, tinyConfig)
		},
		"test label": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet, label, tinyConfig)
		},
		"subset": func() (string, []byte, error) {
			return cacheKey(tinySpec(initializers.HeNormal()), trainSet.Subset(95), testSet, tinyConfig)
		},
		"spec type": func() (string, []byte, error) {
			return cacheKey(arch.MobileNetV1Spec{Input: []int{1, 28, 28}, Init: initializers.HeNormal(), Seed: 3}, trainSet, testSet, tinyConfig)
		},
	}
	for name, f := range differ {
		if k, _, err := f(); err != nil || k == base {
			t.Errorf("%s: key %s, %v; want a different key", name, k, err)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	trainSet, testSet := tinyData(t)
	ctx := context.Background()
	if _, err := Train(ctx, nil, trainSet, testSet, tinyConfig, CacheOptions{Off: true}); err == nil || !strings.Contains(err.Error(), "nil spec") {
		t.Errorf("nil spec: %v", err)
	}
	bad := tinySpec(initializers.HeNormal())
	bad.Input = []int{1, 28}
	if _, err := Train(ctx, bad, trainSet, testSet, tinyConfig, CacheOptions{Off: true}); err == nil || !strings.Contains(err.Error(), "Input") {
		t.Errorf("bad spec: %v", err)
	}
	if _, err := (Setup{Dataset: "imagenet"}).Train(ctx, []string{"he_normal"}); err == nil || !strings.Contains(err.Error(), "imagenet") {
		t.Errorf("unknown dataset: %v", err)
	}
	if _, err := (Setup{TrainN: 8, TestN: 8}).Train(ctx, []string{"he_nromal"}); err == nil || !strings.Contains(err.Error(), "he_nromal") {
		t.Errorf("unknown initializer: %v", err)
	}
}

// TestCacheRanges checks that an entry trained without per-layer ranges
// serves a request without them but not one that records them.
func TestCacheRanges(t *testing.T) {
	trainSet, testSet := tinyData(t)
	var log bytes.Buffer
	opts := CacheOptions{Dir: t.TempDir(), Log: &log}
	ctx := context.Background()
	plain := tinyConfig
	plain.RecordRanges = false
	if _, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, plain, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := opts.Load(tinySpec(initializers.HeNormal()), trainSet, testSet, plain); err != nil {
		t.Errorf("Load without ranges: %v", err)
	}
	log.Reset()
	got, err := Train(ctx, tinySpec(initializers.HeNormal()), trainSet, testSet, tinyConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cached || len(got.History.Last().Ranges) == 0 || !strings.Contains(log.String(), "without per-layer ranges") {
		t.Errorf("ranges requested from a plain entry: cached %v, %d ranges, log %q; want a retrain with ranges", got.Cached, len(got.History.Last().Ranges), log.String())
	}
	again, err := opts.Load(tinySpec(initializers.HeNormal()), trainSet, testSet, plain)
	if err != nil || len(again.History.Last().Ranges) == 0 {
		t.Errorf("after the retrain the entry holds ranges and serves both: %v", err)
	}
	if _, err := (CacheOptions{Dir: t.TempDir(), Log: &log}).Load(tinySpec(initializers.HeNormal()), trainSet, testSet, plain); !errors.Is(err, ErrNotCached) {
		t.Errorf("Load from an empty cache: %v; want ErrNotCached", err)
	}
}
