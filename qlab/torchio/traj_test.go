package torchio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// trajCases are the qlab specs of gen_torch.py's TRAJ_CASES: the real
// architectures at small widths, on 3x16x16 images.
var trajCases = map[string]arch.Spec{
	"refnet-s":   withStages(arch.RefNetS(), [][]int{{4, 4}, {8, 8}, {8}}, 3, 16),
	"refnet-dws": withStages(arch.RefNetDWS(), [][]int{{4, 4}, {8, 8}, {16}}, 3, 16),
	"mobilenet_v2-bn": arch.MobileNetV2Spec{Input: []int{3, 16, 16}, StemWidth: 4,
		Blocks: []arch.Bottleneck{{Expansion: 1, Out: 4, Repeats: 1, Stride: 1}, {Expansion: 6, Out: 4, Repeats: 2, Stride: 2}, {Expansion: 6, Out: 8, Repeats: 1, Stride: 2}}, HeadWidth: 16, BatchNorm: true},
}

var trajNames = []string{"refnet-s", "refnet-dws", "mobilenet_v2-bn"}

const (
	trajSteps = 50
	trajBatch = 8
)

// trajectory is one architecture's PyTorch runs (gen_torch.py step_traj).
type trajectory struct {
	m     *nn.Model
	sd    *StateDict
	state []Mapping // state_keys in PyTorch's order, with qlab names
	param []Mapping // param_keys
	x     *tensor.Tensor
	y     []int
}

func loadTrajectory(t *testing.T, name string) *trajectory {
	t.Helper()
	m, err := arch.Build(trajCases[name])
	if err != nil {
		t.Fatal(err)
	}
	sd, err := ReadFile("testdata/traj_" + name + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trajectory{m: m, sd: sd}
	byKey := map[string]Mapping{}
	for _, r := range Names(m) {
		byKey[r.Key] = r
	}
	for _, f := range []struct {
		meta string
		dst  *[]Mapping
	}{{"state_keys", &tr.state}, {"param_keys", &tr.param}} {
		var keys [][2]any
		if err := json.Unmarshal([]byte(sd.Metadata()[f.meta]), &keys); err != nil {
			t.Fatalf("metadata %s: %v", f.meta, err)
		}
		for _, k := range keys {
			r, ok := byKey[k[0].(string)]
			if !ok || r.Param == "" || tensor.Size(r.Shape) != int(k[1].(float64)) {
				t.Fatalf("PyTorch entry %v does not match qlab's %+v", k, r)
			}
			*f.dst = append(*f.dst, r)
		}
	}
	data, err := ReadFile("testdata/traj_data.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	x, y := data.Tensor("x"), data.Tensor("y")
	if tr.x, err = tensor.From(x.Floats, x.Shape...); err != nil {
		t.Fatal(err)
	}
	for _, v := range y.Ints {
		tr.y = append(tr.y, int(v))
	}
	return tr
}

// split cuts a flat snapshot into qlab-named tensors.
func split(t *testing.T, flat *Tensor, keys []Mapping) map[string][]float32 {
	t.Helper()
	if flat == nil {
		t.Fatal("snapshot missing")
	}
	out := map[string][]float32{}
	off := 0
	for _, k := range keys {
		n := tensor.Size(k.Shape)
		out[k.Param] = flat.Floats[off : off+n]
		off += n
	}
	if off != len(flat.Floats) {
		t.Fatalf("%s has %d values; keys cover %d", flat.Name, len(flat.Floats), off)
	}
	return out
}

func (tr *trajectory) snapshot(t *testing.T, run string, step int) map[string][]float32 {
	return split(t, tr.sd.Tensor(fmt.Sprintf("%s/%d/state", run, step)), tr.state)
}

func (tr *trajectory) momentum(t *testing.T, step int) map[string][]float32 {
	return split(t, tr.sd.Tensor(fmt.Sprintf("lr05/%d/momentum", step)), tr.param)
}

func (tr *trajectory) losses(run string) []float64 {
	l := tr.sd.Tensor(run + "/loss")
	out := make([]float64, len(l.Floats))
	for i, v := range l.Floats {
		out[i] = float64(v)
	}
	return out
}

func (tr *trajectory) lr(t *testing.T, run string) float64 {
	v, err := strconv.ParseFloat(tr.sd.Metadata()[run], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// batch returns the images and labels of 1-based step k: the batches of
// the 64 images in order, cycling.
func (tr *trajectory) batch(k int) *data.Dataset {
	n := tr.x.Shape[0] / trajBatch
	b := (k - 1) % n
	idx := make([]int, trajBatch)
	for i := range idx {
		idx[i] = b*trajBatch + i
	}
	return tr.all().Gather(idx)
}

// all returns the 64 images as a dataset, in PyTorch's batch order.
func (tr *trajectory) all() *data.Dataset {
	ds, err := data.NewDataset("traj", tr.x, tr.y, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
	if err != nil {
		panic(err) // shapes checked when the file was read
	}
	return ds
}

// stepper trains with qlab's one training loop, train.Loop: forward in
// training mode, softmax cross-entropy, backward, train.Optimizer's
// SGD-momentum update.
type stepper struct {
	m   *nn.Model
	opt *train.Optimizer
	// kink is, over the steps of the last run, the smallest distance of
	// an activation input from a kink of its ReLU (0) or ReLU6 (0, 6).
	// Closer than float32 rounding, the two libraries may put the element
	// on different sides, and its gradient then flows in one and not in
	// the other.
	kink  float64
	feeds map[string]string // layers whose output is an activation's input: its kind
}

func newStepper(t *testing.T, m *nn.Model) *stepper {
	opt, err := train.NewOptimizer(train.OptimizerConfig{Kind: train.SGDKind, Momentum: 0.9}, m.Params())
	if err != nil {
		t.Fatal(err)
	}
	s := &stepper{m: m, opt: opt, feeds: map[string]string{}}
	ls := m.Layers()
	for i := 0; i+1 < len(ls); i++ {
		if k := ls[i+1].Kind(); k == "ReLU" || k == "ReLU6" {
			s.feeds[ls[i].Name()] = k
		}
	}
	return s
}

func (s *stepper) watch(l nn.Layer, out *tensor.Tensor) {
	kind := s.feeds[l.Name()]
	for _, v := range out.Data {
		switch kind {
		case "ReLU":
			s.kink = math.Min(s.kink, math.Abs(float64(v)))
		case "ReLU6":
			s.kink = math.Min(s.kink, math.Min(math.Abs(float64(v)), math.Abs(float64(v)-6)))
		}
	}
}

var errDone = errors.New("enough steps")

// run trains on ds, batches of trajBatch in order, epoch after epoch, for
// steps steps at learning rate lr, and calls after with the 1-based step
// number and the step's loss after each update.
func (s *stepper) run(t *testing.T, ds *data.Dataset, steps int, lr float64, after func(k int, loss float64)) {
	t.Helper()
	s.kink = math.Inf(1)
	remove := s.m.Observe(s.watch)
	defer remove()
	loader := &data.Loader{Data: ds, BatchSize: trajBatch}
	l := &train.Loop{Model: s.m, Optimizer: s.opt, Loader: loader,
		Epochs: (steps + loader.Batches() - 1) / loader.Batches(), LR: func(int, int) float64 { return lr }}
	l.On(train.AfterUpdate, "trajectory", func(l *train.Loop) error {
		after(l.Steps, l.Loss)
		if l.Steps == steps {
			return errDone
		}
		return nil
	})
	if err := l.Run(context.Background()); !errors.Is(err, errDone) {
		t.Fatalf("train.Loop: %v after %d of %d steps", err, l.Steps, steps)
	}
}

// setMomentum makes s.opt's momentum buffers equal buf: on a fresh
// optimizer, PyTorch's (and qlab's) first SGD step sets the buffer to the
// gradient, and a step with learning rate 0 leaves the weights exactly as
// they are.
func (s *stepper) setMomentum(t *testing.T, buf map[string][]float32) {
	t.Helper()
	for _, p := range s.m.Params() {
		copy(p.Grad.Data, buf[p.Name])
	}
	s.opt.Step(0)
}

// diff is the largest |got-want| / scale over a state, with the tensor
// where it happens. A tensor's scale is its largest |want|, but at least
// 1e-3 of the largest |want| of the whole state: some quantities are zero
// up to rounding — the gradient of a BatchNorm beta whose output feeds a
// linear conv and another BatchNorm, the running mean after such a conv —
// and their float32 noise differs between the libraries.
func diff(got, want map[string][]float32) (float64, string) {
	var global float64
	for _, w := range want {
		for _, v := range w {
			global = math.Max(global, math.Abs(float64(v)))
		}
	}
	worst, at := 0.0, ""
	for name, w := range want {
		g := got[name]
		d, s := 0.0, 1e-3*global
		for i := range w {
			d = math.Max(d, math.Abs(float64(g[i])-float64(w[i])))
			s = math.Max(s, math.Abs(float64(w[i])))
		}
		if s == 0 {
			s = 1
		}
		if d/s > worst || at == "" || math.IsNaN(d) {
			worst, at = d/s, name
		}
	}
	return worst, at
}

// readMomentum returns the optimizer's momentum buffers, which
// train.Optimizer keeps private: with zero gradients and zero weights, one
// SGD step at learning rate -1 leaves w = 0.9·b in float32, and dividing by
// 0.9 recovers b to float32 rounding (1.2e-7 relative). It destroys the
// stepper's state, so it is the last thing a teacher-forced step does.
func (s *stepper) readMomentum() map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range s.m.Params() {
		p.Grad.Zero()
		p.Value.Zero()
	}
	s.opt.Step(-1)
	for _, p := range s.m.Params() {
		b := make([]float32, len(p.Value.Data))
		for i, v := range p.Value.Data {
			b[i] = float32(float64(v) / 0.9)
		}
		out[p.Name] = b
	}
	return out
}

// errs tracks the largest relative error of each quantity over a run.
type errs struct {
	loss, weights, momenta, stats float64
	where                         [4]string
}

func (e *errs) add(i int, v float64, where string) {
	p := [...]*float64{&e.loss, &e.weights, &e.momenta, &e.stats}[i]
	if v > *p || math.IsNaN(v) {
		*p, e.where[i] = v, where
	}
}

// params and buffers split a state into trainable parameters and
// BatchNorm running statistics.
func splitState(m *nn.Model, st map[string][]float32) (params, stats map[string][]float32) {
	params, stats = map[string][]float32{}, map[string][]float32{}
	for name, v := range st {
		if p := m.Param(name); p != nil && p.Grad != nil {
			params[name] = v
		} else {
			stats[name] = v
		}
	}
	return params, stats
}

// kinkDistance: a step in which some activation input lies closer than
// this to a kink is a near-kink step (activation inputs follow batch norm
// and are O(1); the libraries' float32 results differ by up to ~1e-6).
const kinkDistance = 1e-6

// TestTrajectoryTeacherForced replays PyTorch's 50 SGD steps (lr 0.05,
// momentum 0.9, batch 8, fixed batch order, 3x16x16 images) of RefNet-S,
// RefNet-DWS and MobileNetV2 with batch norm, each step one run of qlab's
// training loop (train.Loop) on its batch: every step starts from
// PyTorch's weights, BatchNorm running statistics and momentum buffers
// before it, and its loss, weights, momenta and running statistics after
// it must match PyTorch's.
//
// Tolerances, relative to the largest magnitude of each tensor (see diff
// for the floor): loss 1e-5, weights 1e-5, momenta 3e-4, running
// statistics 3e-5. Measured worst cases (logged with -v): loss 3.5e-7,
// weights 1.4e-6, momenta 7.4e-5, running statistics 4.3e-6; the two
// libraries sum convolutions and reductions in different orders, and
// qlab's GEMM kernel depends on the CPU, hence the margins.
//
// On a near-kink step (an activation input within kinkDistance of a ReLU
// or ReLU6 kink) the libraries may round that one element to different
// sides, so its gradient flows in one and not the other; those steps are
// held to weights 1e-4 and momenta 2e-3 instead. MobileNetV2's step 43 is
// one: an input of block2/expand/relu6 is 3.5e-7, and only that channel's
// beta gradient differs (momentum 9e-4 relative, weights 6e-5).
func TestTrajectoryTeacherForced(t *testing.T) {
	names := []string{"loss", "weights", "momenta", "running statistics"}
	tight := []float64{1e-5, 1e-5, 3e-4, 3e-5}
	loose := []float64{1e-5, 1e-4, 2e-3, 3e-5}
	for _, name := range trajNames {
		t.Run(name, func(t *testing.T) {
			tr := loadTrajectory(t, name)
			lr := tr.lr(t, "lr05")
			losses := tr.losses("lr05")
			var normal, kinked errs
			nk := 0
			for k := 1; k <= trajSteps; k++ {
				before := tr.snapshot(t, "lr05", k-1)
				if err := tr.m.LoadState(before); err != nil {
					t.Fatal(err)
				}
				s := newStepper(t, tr.m)
				if k > 1 {
					s.setMomentum(t, tr.momentum(t, k-1))
				}
				var l float64
				s.run(t, tr.batch(k), 1, lr, func(_ int, loss float64) { l = loss })
				e, at := &normal, fmt.Sprintf("step %d", k)
				if s.kink < kinkDistance {
					e, at = &kinked, fmt.Sprintf("step %d (an activation input %.2g from a kink)", k, s.kink)
					nk++
				}
				e.add(0, math.Abs(l-losses[k-1])/math.Abs(losses[k-1]), at)
				gotP, gotS := splitState(tr.m, tr.m.State())
				wantP, wantS := splitState(tr.m, tr.snapshot(t, "lr05", k))
				d, where := diff(gotP, wantP)
				e.add(1, d, at+" "+where)
				d, where = diff(gotS, wantS)
				e.add(3, d, at+" "+where)
				d, where = diff(s.readMomentum(), tr.momentum(t, k))
				e.add(2, d, at+" "+where)
			}
			for _, c := range []struct {
				label string
				e     *errs
				tol   []float64
			}{{"steps", &normal, tight}, {"near-kink steps", &kinked, loose}} {
				got := [...]float64{c.e.loss, c.e.weights, c.e.momenta, c.e.stats}
				t.Logf("worst relative errors over %s: loss %.2g (%s), weights %.2g (%s), momenta %.2g (%s), running stats %.2g (%s)",
					c.label, got[0], c.e.where[0], got[1], c.e.where[1], got[2], c.e.where[2], got[3], c.e.where[3])
				for i := range got {
					if !(got[i] <= c.tol[i]) {
						t.Errorf("%s: relative error %.3g at %s; tolerance %g", names[i], got[i], c.e.where[i], c.tol[i])
					}
				}
			}
			if nk > trajSteps/5 {
				t.Errorf("%d of %d steps are near a kink; the tight tolerances cover too few", nk, trajSteps)
			}
		})
	}
}

// freeRun trains from PyTorch's initial state for 50 steps at run's
// learning rate and returns, per kept step, the relative distance of
// qlab's weights and statistics from PyTorch's, and per step the relative
// loss difference.
func freeRun(t *testing.T, tr *trajectory, run string) (state map[int]float64, loss []float64) {
	return freeRunWhere(t, tr, run, nil)
}

// freeRunWhere is freeRun that also records, per kept step, the tensor
// where the state differs most.
func freeRunWhere(t *testing.T, tr *trajectory, run string, where map[int]string) (state map[int]float64, loss []float64) {
	if err := tr.m.LoadState(tr.snapshot(t, "lr05", 0)); err != nil { // every run starts there
		t.Fatal(err)
	}
	want := tr.losses(run)
	state = map[int]float64{}
	newStepper(t, tr.m).run(t, tr.all(), trajSteps, tr.lr(t, run), func(k int, l float64) {
		loss = append(loss, math.Abs(l-want[k-1])/math.Abs(want[k-1]))
		if snap := tr.sd.Tensor(fmt.Sprintf("%s/%d/state", run, k)); snap != nil {
			var at string
			state[k], at = diff(tr.m.State(), split(t, snap, tr.state))
			if where != nil {
				where[k] = at
				got, want := map[string][]float32{}, map[string][]float32{}
				for name, v := range split(t, snap, tr.state) {
					if p := tr.m.Param(name); p.Kind == nn.Weight {
						got[name], want[name] = append([]float32(nil), p.Value.Data...), v
					}
				}
				d, w := diff(got, want)
				where[k] += fmt.Sprintf("; weights %.2g in %s", d, w)
			}
		}
	})
	return state, loss
}

// TestTrajectoryFreeRun trains qlab from PyTorch's initial weights for the
// whole 50-step run with train.Loop, never resynchronised, and compares
// with PyTorch's own run.
//
// At lr 0.001 (momentum 0.9), where rounding is amplified slowly, the
// first 20 steps must agree within 1e-4 relative (every loss; weights and
// running statistics at steps 10 and 20, relative to each tensor's largest
// magnitude, as diff) and the whole run within 1e-3 (losses) and 3e-2
// (states). Measured with qlab's AVX-512 and AVX2 GEMM kernels: losses
// within 1.8e-7 and states within 5.9e-6 over all 50 steps, for all three
// networks. With the pure-Go kernel (GODEBUG=cpu.avx512f=off,cpu.avx2=off,
// cpu.fma=off) RefNet-S and RefNet-DWS agree as closely, but MobileNetV2
// has an input of block2/expand/relu6 round to the other side of the kink
// near step 25, and from there its run drifts: states 1.1e-4 at step 30,
// 1.1e-2 at step 50 (conv weights 1.7e-3), loss 1.6e-4. A smaller
// learning rate does not avoid that: at lr 0.0001 a kink crossing near
// step 35 leaves MobileNetV2 8e-4 apart by step 50 with every kernel.
//
// At the notebooks' learning rates the runs drift apart, as two PyTorch
// runs with different summation orders would: a pre-activation that
// rounds to the other side of a ReLU kink changes one gradient element,
// and at a high learning rate the network amplifies it. Measured on this
// data (largest relative state difference after step 1, 2, 5, 10, 20, 50;
// logged with -v, not asserted):
//
//	             lr 0.05                                    lr 0.01
//	RefNet-S     9e-7 2e-6 1e-6 2e-6 6e-6 5e-6              9e-7 2e-6 8e-7 6e-7 5e-7 9e-7
//	RefNet-DWS   1e-6 1e-6 3e-6 7e-6 1e-2 1.9 (loss 3%)     1e-6 2e-6 6e-6 2e-6 1e-6 4e-6
//	MobileNetV2  3e-6 3e-6 5e-6 5e-6 9e-6 0.32 (loss 4%)    3e-6 5e-6 4e-6 5e-6 4e-6 4e-6
//
// At lr 0.05 the depthwise networks part ways between step 10 and 20 and
// are different networks by step 50 (loss 3-4% apart), while RefNet-S
// stays within 1e-5; at lr 0.01 all three stay within 1e-5 for 50 steps.
// Which run crosses a kink, and when, is chance: with the pure-Go GEMM
// kernel RefNet-S at lr 0.05 is 0.15 apart by step 50, RefNet-DWS at
// lr 0.01 0.69, and MobileNetV2 at lr 0.05 already 0.2 at step 20. Free
// runs at the notebooks' rates are therefore compared statistically
// (accuracy over seeds), not step by step.
func TestTrajectoryFreeRun(t *testing.T) {
	for _, name := range trajNames {
		t.Run(name, func(t *testing.T) {
			tr := loadTrajectory(t, name)
			where := map[int]string{}
			state, loss := freeRunWhere(t, tr, "lr001", where)
			worstLoss, at := 0.0, 0
			for k, e := range loss {
				if e > worstLoss || math.IsNaN(e) {
					worstLoss, at = e, k+1
				}
			}
			t.Logf("%s lr 0.001: worst loss difference %.2g (step %d); state differences %s; at 50: %s", name, worstLoss, at, fmtSteps(state), where[50])
			for k, e := range loss {
				if tol := wholeRunTol(k+1, 1e-4, 1e-3); !(e <= tol) {
					t.Errorf("lr 0.001: loss at step %d differs by %.3g relative; tolerance %g", k+1, e, tol)
				}
			}
			for k, e := range state {
				if tol := wholeRunTol(k, 1e-4, 3e-2); !(e <= tol) {
					t.Errorf("lr 0.001: state after step %d differs by %.3g relative (in %s); tolerance %g", k, e, where[k], tol)
				}
			}
			for _, run := range []string{"lr05", "lr01"} {
				state, loss := freeRun(t, tr, run)
				keep := map[int]float64{}
				for _, k := range []int{1, 2, 5, 10, 20, 50} {
					keep[k] = state[k]
				}
				t.Logf("%s lr %s free run: state differences %s; loss difference at step 50 %.2g", name, tr.sd.Metadata()[run], fmtSteps(keep), loss[len(loss)-1])
			}
		})
	}
}

// wholeRunTol is the free run's tolerance at step k: tight for the first
// 20 steps, whole afterwards.
func wholeRunTol(k int, tight, whole float64) float64 {
	if k <= 20 {
		return tight
	}
	return whole
}

func fmtSteps(m map[int]float64) string {
	var b []string
	for _, k := range []int{1, 2, 5, 10, 20, 30, 40, 50} {
		if v, ok := m[k]; ok {
			b = append(b, fmt.Sprintf("%d:%.1e", k, v))
		}
	}
	return strings.Join(b, " ")
}
