package analysis

import (
	"context"
	"sync"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// The speed goal is stated over 10,000 images of RefNet-S in
// batches of 64; both benchmarks below feed exactly these batches.
const (
	benchImages = 10_000
	benchBatch  = 64
)

var refNetImages = sync.OnceValue(func() []*tensor.Tensor {
	var xs []*tensor.Tensor
	for i := 0; i < benchImages; i += benchBatch {
		xs = append(xs, randomBatch(uint64(1000+i), min(benchBatch, benchImages-i)))
	}
	return xs
})

// passCost is the wall and CPU time (ns) of one pass over the images; cpu
// is -1 where the platform cannot report CPU time.
type passCost struct{ wall, cpu int64 }

func measure(b *testing.B, f func() error) passCost {
	c0, okc := cpuNano()
	t0 := nowNano()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	t1 := nowNano()
	c1, _ := cpuNano()
	if !okc {
		return passCost{t1 - t0, -1}
	}
	return passCost{t1 - t0, c1 - c0}
}

func inferPass(m *nn.Model, xs []*tensor.Tensor) error {
	for _, x := range xs {
		if _, err := m.Forward(x); err != nil {
			return err
		}
	}
	return nil
}

func statsPass(m *nn.Model, xs []*tensor.Tensor, opts ActivationOptions) error {
	_, err := ActivationStats(context.Background(), m, SliceBatches(xs...), opts)
	return err
}

// report adds images/s (wall) and images/cpu-s (images per CPU-second of
// the whole process, the figure that stays meaningful on a loaded machine).
func report(b *testing.B, total passCost, passes int) {
	imgs := float64(passes * benchImages)
	b.ReportMetric(imgs/(float64(total.wall)/1e9), "images/s")
	if total.cpu > 0 {
		b.ReportMetric(imgs/(float64(total.cpu)/1e9), "images/cpu-s")
	}
}

// BenchmarkInferRefNetS10k is the baseline of the speed goal: a
// plain inference pass of RefNet-S over 10,000 random 3×32×32 images in
// batches of 64. One iteration is one pass.
func BenchmarkInferRefNetS10k(b *testing.B) {
	m := refNet(b)
	m.Eval()
	xs := refNetImages()
	var total passCost
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		c := measure(b, func() error { return inferPass(m, xs) })
		total.wall += c.wall
		total.cpu += c.cpu
		n++
	}
	report(b, total, n)
}

// BenchmarkActivationStatsRefNetS collects the default ActivationStats
// (every layer, per tensor and per channel) over the same 10,000 images.
// Each iteration also runs a plain inference pass right before, outside
// the timer, so that "x-inference" (statistics pass CPU time / inference
// pass CPU time; the goal is ≤ 1.5) compares back-to-back runs on
// the same machine load; "x-inference-wall" is the same ratio in wall time.
func BenchmarkActivationStatsRefNetS(b *testing.B) {
	benchActivationStats(b, ActivationOptions{})
}

// BenchmarkActivationStatsRefNetSChannelPercentiles is the same with the
// opt-in per-channel percentiles (ActivationOptions.ChannelPercentiles),
// which the default leaves off to keep within the ≤ 1.5 goal.
func BenchmarkActivationStatsRefNetSChannelPercentiles(b *testing.B) {
	benchActivationStats(b, ActivationOptions{ChannelPercentiles: true})
}

func benchActivationStats(b *testing.B, opts ActivationOptions) {
	m := refNet(b)
	m.Eval()
	xs := refNetImages()
	var inf, st passCost
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c := measure(b, func() error { return inferPass(m, xs) })
		inf.wall += c.wall
		inf.cpu += c.cpu
		b.StartTimer()
		c = measure(b, func() error { return statsPass(m, xs, opts) })
		st.wall += c.wall
		st.cpu += c.cpu
		n++
	}
	report(b, st, n)
	if inf.cpu > 0 && st.cpu > 0 {
		b.ReportMetric(float64(st.cpu)/float64(inf.cpu), "x-inference")
	}
	b.ReportMetric(float64(st.wall)/float64(inf.wall), "x-inference-wall")
}
