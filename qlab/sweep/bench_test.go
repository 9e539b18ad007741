package sweep

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkTrial times one DefaultTrial of tinySpec's grid (the data are
// cached after the first run, as in a sweep); it reports seconds per trial
// and the trials/hour that running trials one after another would give.
func BenchmarkTrial(b *testing.B) {
	b.ReportAllocs()
	ts, err := tinySpec("").Trials()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := DefaultTrial(context.Background(), ts[0], b.TempDir()); err != nil { // warm the data cache
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		if _, err := DefaultTrial(context.Background(), ts[i%len(ts)], dir); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(per, "s/trial")
	b.ReportMetric(3600/per, "serial-trials/hour")
}

// BenchmarkLocalRunner runs tinySpec's 4-trial grid into a fresh store per
// iteration with 1 and 2 workers and reports trials/hour; compare with
// BenchmarkTrial's serial-trials/hour.
func BenchmarkLocalRunner(b *testing.B) {
	if _, err := DefaultTrial(context.Background(), mustTrials(b)[0], b.TempDir()); err != nil { // warm the data cache
		b.Fatal(err)
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.ReportAllocs()
			trials := 0
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				b.StartTimer()
				start := time.Now()
				sum, err := Run(context.Background(), tinySpec(dir), Options{Workers: w})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				trials += sum.Ran
			}
			b.ReportMetric(float64(trials)/elapsed.Hours(), "trials/hour")
		})
	}
}

func mustTrials(b *testing.B) []TrialSpec {
	ts, err := tinySpec("").Trials()
	if err != nil {
		b.Fatal(err)
	}
	return ts
}
