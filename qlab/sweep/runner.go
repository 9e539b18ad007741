package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
	"github.com/qlab-dev/qlab/qlab/study"
)

// ErrTrialsFailed is wrapped by Run's error when trials failed; the
// Summary lists them, and a later Run (or RunTrial) retries them.
var ErrTrialsFailed = errors.New("sweep: trials failed")

// Options configure Run. The zero value runs every unfinished trial with
// DefaultTrial on max(1, GOMAXPROCS/2) workers, silently.
type Options struct {
	// Workers is the number of trials run at once; 0 means
	// max(1, GOMAXPROCS/2). Each trial is already parallel inside: package
	// nn splits every layer's work over GOMAXPROCS goroutines, so one
	// trial alone already occupies both cores of a 2-core machine, and
	// running two at once oversubscribes them (a fork-join kernel then
	// likely waits on a helper goroutine preempted by the other trial).
	// Measured on a 2-core machine shared with other jobs, tinySpec's
	// grid: the same CPU time, and 1.0x to 4x the wall time of 1 worker
	// with 2 (BenchmarkLocalRunner). On larger nodes, half the cores as
	// workers keeps small networks, whose layers do not split well, from
	// leaving cores idle. Results never
	// depend on it.
	Workers int
	// Trial is the trial body; nil means DefaultTrial.
	Trial TrialFunc
	// Progress, when set, is called (from one goroutine at a time) when a
	// trial starts or ends. See TextProgress and ProgressBar.
	Progress func(Progress)
	// Only, when non-nil, restricts the run to these trial indices (retry
	// one failed trial alone: Only: []int{i}).
	Only []int
	// SkipFailed leaves trials with a recorded failure alone; by default
	// they are retried.
	SkipFailed bool
	// Rerun runs trials even when they have a record (overwriting it).
	// DefaultTrial then resumes from the trial's final checkpoint, so it
	// re-evaluates without retraining; delete a trial's directory to
	// retrain it.
	Rerun bool
	// Dir overrides Spec.ResultsDir.
	Dir string
	// Models, when set, lets DefaultTrial reuse networks from this model
	// cache (qlab/study) — trained by a notebook or an earlier sweep under
	// the same configuration — instead of training them, and store the
	// ones it trains. Default nil: every trial trains.
	Models *study.CacheOptions
}

// Progress is a sweep's state, reported when a trial starts or ends.
type Progress struct {
	// Total is the number of trials this run considers; Done those
	// finished (including those already done before it started), Failed
	// those that failed in this run, Running those in flight, Busy those
	// left to another sweep holding their lock.
	Total, Done, Failed, Running, Busy int
	// Elapsed is the time since Run started; ETA the estimated time to
	// finish the remaining trials at this run's pace (0 until one trial
	// has finished).
	Elapsed, ETA time.Duration
	// Event says what just happened, e.g. "done 3 refnet-s he_normal seed 1".
	Event string
}

// String is a one-line summary: "7/12 done, 2 running, 1 failed, ETA 3m0s".
func (p Progress) String() string {
	s := fmt.Sprintf("%d/%d done, %d running, %d failed", p.Done, p.Total, p.Running, p.Failed)
	if p.Busy > 0 {
		s += fmt.Sprintf(", %d busy elsewhere", p.Busy)
	}
	if p.ETA > 0 {
		s += ", ETA " + p.ETA.Round(time.Second).String()
	}
	return s
}

// TextProgress returns a Progress callback that writes one line per event
// to w (a terminal, a log file).
func TextProgress(w io.Writer) func(Progress) {
	return func(p Progress) { fmt.Fprintf(w, "sweep: %s (%s)\n", p, p.Event) }
}

// ProgressBar returns a Progress callback that draws one
// display.ProgressBar counting finished trials: an HTML bar updated in place
// in a notebook, a text bar on standard error elsewhere. It closes when no
// trial is left.
func ProgressBar(title string) func(Progress) {
	var bar *display.ProgressBar
	return func(p Progress) {
		if bar == nil {
			bar = display.NewProgressBar(title, p.Total)
		}
		bar.Set(p.Done+p.Failed, fmt.Sprintf("%d running, %d failed", p.Running, p.Failed))
		if p.Done+p.Failed+p.Busy >= p.Total && p.Running == 0 {
			bar.Close()
		}
	}
}

// Summary is the result of Run.
type Summary struct {
	Dir string
	// Total is the number of trials considered; Ran those run to a record
	// now, Skipped those already done, Busy those locked by another sweep.
	Total, Ran, Skipped, Busy int
	// Failures are the trials that failed in this run.
	Failures []Failure
	Elapsed  time.Duration
}

// Run runs spec's unfinished trials on opts.Workers goroutines into the
// results store (opened, or created, with OpenStore) and returns a summary.
// It stops starting trials when ctx is cancelled and returns ctx's error
// after the running ones stop (within one training batch); their
// checkpoints remain for the next Run. When trials fail the error wraps
// ErrTrialsFailed and the summary lists them.
func Run(ctx context.Context, spec *Spec, opts Options) (*Summary, error) {
	st, err := OpenStore(spec, opts.Dir)
	if err != nil {
		return nil, err
	}
	return st.Run(ctx, opts)
}

// Run is the package-level Run on an open store (opts.Dir is ignored).
func (s *Store) Run(ctx context.Context, opts Options) (*Summary, error) {
	start := time.Now()
	var todo []TrialSpec
	sum := &Summary{Dir: s.Dir}
	if opts.Only != nil {
		for _, i := range opts.Only {
			t, err := s.Trial(i)
			if err != nil {
				return nil, err
			}
			todo = append(todo, t)
		}
	} else {
		todo = s.Trials()
	}
	sum.Total = len(todo)
	var queue []TrialSpec
	for _, t := range todo {
		switch st := s.Status(t); {
		case st == Done && !opts.Rerun:
			sum.Skipped++
		case st == Failed && opts.SkipFailed && !opts.Rerun:
			f, err := s.Failure(t.ID)
			if err != nil {
				return nil, err
			}
			sum.Failures = append(sum.Failures, *f)
		default:
			queue = append(queue, t)
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	workers = min(workers, max(len(queue), 1))

	var mu sync.Mutex
	prog := Progress{Total: sum.Total, Done: sum.Skipped, Failed: len(sum.Failures)}
	finishedNow := 0
	report := func(event string) {
		// Called with mu held, so callbacks never run concurrently.
		prog.Elapsed = time.Since(start)
		prog.Event = event
		prog.ETA = 0
		if finishedNow > 0 {
			left := prog.Total - prog.Done - prog.Failed - prog.Busy
			prog.ETA = time.Duration(float64(prog.Elapsed) / float64(finishedNow) * float64(left))
		}
		if opts.Progress != nil {
			opts.Progress(prog)
		}
	}
	jobs := make(chan TrialSpec)
	var wg sync.WaitGroup
	var storeErr error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				name := fmt.Sprintf("%d %s %s seed %d", t.Index, t.Arch, t.Init, t.Seed)
				mu.Lock()
				prog.Running++
				report("start " + name)
				mu.Unlock()
				t.Models = opts.Models
				out, err := s.RunTrial(ctx, t, opts.Trial, opts.Rerun)
				mu.Lock()
				prog.Running--
				switch out {
				case Ran:
					sum.Ran++
					prog.Done++
					finishedNow++
					report("done " + name)
				case Skipped:
					sum.Skipped++
					prog.Done++
					report("already done " + name)
				case Busy:
					sum.Busy++
					prog.Busy++
					report("busy elsewhere " + name)
				case FailedOutcome:
					sum.Failures = append(sum.Failures, Failure{ID: t.ID, Index: t.Index, Arch: t.Arch, Init: t.Init, Seed: t.Seed, Error: err.Error()})
					prog.Failed++
					finishedNow++
					report("failed " + name + ": " + err.Error())
				case Interrupted:
					report("interrupted " + name)
				default:
					if storeErr == nil {
						storeErr = err
					}
					report("error " + name + ": " + err.Error())
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range queue {
		select {
		case jobs <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	sum.Elapsed = time.Since(start)
	switch {
	case storeErr != nil:
		return sum, storeErr
	case ctx.Err() != nil:
		return sum, fmt.Errorf("sweep: stopped: %w", ctx.Err())
	case len(sum.Failures) > 0:
		f := sum.Failures[0]
		return sum, fmt.Errorf("%w: %d of %d (first: trial %d, %s, %s, seed %d: %s)", ErrTrialsFailed,
			len(sum.Failures), sum.Total, f.Index, f.Arch, f.Init, f.Seed, f.Error)
	}
	return sum, nil
}
