package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/study"
)

// TestRunReusesModelCache runs the tiny sweep twice: without a model cache
// (the reference) and with one that a first trial already filled through
// qlab/study, as a notebook would. The cached trial must not train, and
// every record must equal the reference's.
func TestRunReusesModelCache(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny sweep twice")
	}
	ctx := context.Background()
	ref := tinySpec(t.TempDir())
	ref.Seeds = []uint64{1}
	if _, err := Run(ctx, ref, Options{}); err != nil {
		t.Fatal(err)
	}
	want, err := LoadResults(ref.ResultsDir)
	if err != nil {
		t.Fatal(err)
	}

	// Fill the cache with the first trial's network, trained by study.Train.
	var log bytes.Buffer
	cache := &study.CacheOptions{Dir: t.TempDir(), Log: &log}
	spec := tinySpec(t.TempDir())
	spec.Seeds = []uint64{1}
	trials, err := spec.Trials()
	if err != nil {
		t.Fatal(err)
	}
	first := trials[0]
	trainSet, testSet, err := loadData(first.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := study.Train(ctx, first.ArchSpec, trainSet, testSet, first.Train, *cache); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if _, err := Run(ctx, spec, Options{Models: cache}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "loaded from the cache"); n != 1 {
		t.Errorf("cache log %q: %d models loaded; want 1 (the first trial's)", log.String(), n)
	}
	if n := strings.Count(log.String(), "trained and cached"); n != len(trials)-1 {
		t.Errorf("cache log %q: %d models stored; want %d", log.String(), n, len(trials)-1)
	}
	got, err := LoadResults(spec.ResultsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("%d records; want %d", len(got.Records), len(want.Records))
	}
	for i := range want.Records {
		a, _ := json.Marshal(struct{ FP32, Quant, Layers, History any }{want.Records[i].FP32, want.Records[i].Quant, want.Records[i].Layers, want.Records[i].History})
		b, _ := json.Marshal(struct{ FP32, Quant, Layers, History any }{got.Records[i].FP32, got.Records[i].Quant, got.Records[i].Layers, got.Records[i].History})
		if !bytes.Equal(a, b) {
			t.Errorf("trial %d with the model cache:\n%s\nwant (trained):\n%s", i, b, a)
		}
	}
}
