package train

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Hooks run at their stage in increasing priority, ties in the order
// added, and every stage fires the expected number of times.
func TestLoopHookOrder(t *testing.T) {
	m := toyModel(t, 1)
	d := toyData(t, 40, 2)
	opt, err := NewOptimizer(SGD(0.01, 0.9), m.Params())
	if err != nil {
		t.Fatal(err)
	}
	l := &Loop{Model: m, Optimizer: opt, Loader: &data.Loader{Data: d, BatchSize: 16}, Epochs: 2}
	var trace []string
	add := func(s Stage, prio int, name string) {
		l.AddHook(Hook{Name: name, Stage: s, Priority: prio, Fn: func(*Loop) error {
			trace = append(trace, name)
			return nil
		}})
	}
	add(BeforeUpdate, 5, "u5")
	add(BeforeUpdate, -1, "u-1")
	add(BeforeUpdate, 5, "u5b")
	add(EpochStart, 0, "start")
	add(EpochEnd, 0, "end")
	add(BeforeForward, 0, "fwd")
	add(BeforeBackward, 0, "bwd")
	add(AfterUpdate, 0, "after")
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	batch := []string{"fwd", "bwd", "u-1", "u5", "u5b", "after"}
	var want []string
	for e := 0; e < 2; e++ {
		want = append(want, "start")
		for b := 0; b < 3; b++ {
			want = append(want, batch...)
		}
		want = append(want, "end")
	}
	if got := strings.Join(trace, " "); got != strings.Join(want, " ") {
		t.Errorf("hook order:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
	if l.Steps != 6 || opt.Steps() != 6 {
		t.Errorf("got %d loop steps, %d optimizer steps; want 6", l.Steps, opt.Steps())
	}
	if m.Training() {
		t.Error("model left in training mode")
	}
	if e, b, _ := l.Next(); e != 2 || b != 0 {
		t.Errorf("Next() = %d, %d after the run; want 2, 0", e, b)
	}
}

// A failing hook or tap stops the run with an error naming the position
// and the hook, and the state needed to resume is where it stopped.
func TestLoopErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		add  func(l *Loop)
		want string
	}{
		{"hook", func(l *Loop) {
			l.On(BeforeUpdate, "clip", func(l *Loop) error {
				if l.Epoch == 1 && l.Batch == 2 {
					return boom
				}
				return nil
			})
		}, "train: epoch 1, step 5 (batch index 2 of 3): clip: boom"},
		{"tap", func(l *Loop) {
			l.Tap(func(layer nn.Layer, out *tensor.Tensor) error {
				if l.Epoch == 1 && l.Batch == 2 {
					return boom
				}
				return nil
			})
		}, "train: epoch 1, step 5 (batch index 2 of 3): boom"},
		{"epoch end", func(l *Loop) {
			l.On(EpochEnd, "eval", func(l *Loop) error { return boom })
		}, "train: epoch 0: eval: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := toyModel(t, 1)
			opt, err := NewOptimizer(SGD(0.01, 0.9), m.Params())
			if err != nil {
				t.Fatal(err)
			}
			l := &Loop{Model: m, Optimizer: opt, Loader: &data.Loader{Data: toyData(t, 40, 2), BatchSize: 16}, Epochs: 2}
			tc.add(l)
			err = l.Run(context.Background())
			if !errors.Is(err, boom) || err.Error() != tc.want {
				t.Fatalf("got %v; want %q wrapping boom", err, tc.want)
			}
		})
	}
}

// A cancelled run stops before the next batch and Next reports it.
func TestLoopCancel(t *testing.T) {
	m := toyModel(t, 1)
	opt, err := NewOptimizer(SGD(0.01, 0.9), m.Params())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{Model: m, Optimizer: opt, Loader: &data.Loader{Data: toyData(t, 40, 2), BatchSize: 16}, Epochs: 2}
	l.On(AfterUpdate, "cancel", func(l *Loop) error {
		if l.Epoch == 1 && l.Batch == 0 {
			cancel()
		}
		return nil
	})
	err = l.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
	if e, b, tot := l.Next(); e != 1 || b != 1 || tot.Seen != 16 {
		t.Errorf("Next() = %d, %d, %+v; want 1, 1 with 16 samples seen", e, b, tot)
	}
}

// Evaluate gives the same metrics for a model and for a ForwardFunc
// wrapping it, matches a hand count, and honours the batch size only for
// speed.
func TestEvaluateForwarders(t *testing.T) {
	m := toyModel(t, 3)
	m.Eval()
	d := toyData(t, 50, 4)
	got, err := Evaluate(context.Background(), m, d, 7)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := Evaluate(context.Background(), ForwardFunc(m.Forward), d, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Oracle: the whole set in one forward pass.
	y, err := m.Forward(d.Images)
	if err != nil {
		t.Fatal(err)
	}
	var loss nn.SoftmaxCrossEntropy
	v, err := loss.Forward(y, d.Labels)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nn.Correct(y, d.Labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Metrics{got, fn} {
		if m.N != 50 || m.Accuracy != float64(c)/50 || math.Abs(m.Loss-v) > 1e-6 {
			t.Errorf("got %+v; want N 50, accuracy %v, loss %v", m, float64(c)/50, v)
		}
	}
	if _, err := Evaluate(context.Background(), ForwardFunc(m.Forward), nil, 0); err == nil {
		t.Error("nil dataset: no error")
	}
}

// Observe visits every leaf layer of every batch in forward order, in
// inference mode, and an error from the callback stops it naming the
// batch.
func TestObserve(t *testing.T) {
	m := toyModel(t, 3)
	d := toyData(t, 50, 4)
	layers := m.Layers()
	calls, samples := 0, 0
	err := Observe(context.Background(), m, d, ObserveOptions{BatchSize: 16, Samples: 40}, func(l nn.Layer, out *tensor.Tensor) error {
		if l != layers[calls%len(layers)] {
			t.Fatalf("call %d: layer %q; want %q", calls, l.Name(), layers[calls%len(layers)].Name())
		}
		if m.Training() {
			t.Fatal("Observe runs in training mode")
		}
		if calls%len(layers) == 0 {
			samples += out.Shape[0]
		}
		calls++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3*len(layers) || samples != 40 {
		t.Errorf("got %d calls over %d samples; want %d over 40", calls, samples, 3*len(layers))
	}
	if !m.Training() {
		t.Error("mode not restored")
	}
	boom := errors.New("boom")
	err = Observe(context.Background(), m, d, ObserveOptions{BatchSize: 16}, func(l nn.Layer, out *tensor.Tensor) error {
		if calls++; calls > 3*len(layers)+len(layers)+2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "batch 1") {
		t.Errorf("got %v; want boom at batch 1", err)
	}
	// The tap is detached afterwards: a forward pass calls nothing.
	before := calls
	if _, err := m.Forward(d.Images); err != nil {
		t.Fatal(err)
	}
	if calls != before {
		t.Error("Observe left its callback attached")
	}
}

// Malformed hooks are reported by Run, not by a panic.
func TestLoopBadHook(t *testing.T) {
	m := toyModel(t, 1)
	opt, err := NewOptimizer(SGD(0.01, 0.9), m.Params())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []Hook{{Name: "late", Stage: Stage(42), Fn: func(*Loop) error { return nil }}, {Name: "empty", Stage: EpochEnd}} {
		l := &Loop{Model: m, Optimizer: opt, Loader: &data.Loader{Data: toyData(t, 16, 2), BatchSize: 16}}
		l.AddHook(h)
		if err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), h.Name) {
			t.Errorf("hook %q: got %v; want an error naming it", h.Name, err)
		}
	}
	if opt.Steps() != 0 {
		t.Errorf("%d steps taken with a bad hook", opt.Steps())
	}
}
