package train

import (
	"context"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/display"
)

// TestProgressBar runs Fit with the display.ProgressBar callback under a
// fake kernel publisher and checks the bundles it publishes.
func TestProgressBar(t *testing.T) {
	type pub struct {
		d      display.Data
		update bool
	}
	var got []pub
	old := display.SetPublisher(func(d display.Data, update bool) { got = append(got, pub{d, update}) })
	defer display.SetPublisher(old)

	cfg := Config{BatchSize: 10, Epochs: 2, Progress: ProgressBar("toy")}
	if _, err := Fit(context.Background(), toyModel(t, 1), toyData(t, 30, 1), nil, cfg); err != nil {
		t.Fatal(err)
	}
	if len(got) < 2 {
		t.Fatalf("got %d published bundles; want at least the initial and the final bar", len(got))
	}
	if got[0].update {
		t.Errorf("first bundle is an update; want a new display")
	}
	id := got[0].d.DisplayID()
	for i, p := range got[1:] {
		if !p.update || p.d.DisplayID() != id {
			t.Errorf("bundle %d: update %v, display id %q; want an update of %q", i+1, p.update, p.d.DisplayID(), id)
		}
	}
	last := got[len(got)-1].d.Text()
	for _, want := range []string{"toy", "100% 6/6", "epoch 2/2", "loss "} {
		if !strings.Contains(last, want) {
			t.Errorf("final bar %q lacks %q", last, want)
		}
	}
}
