package sweep

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	var mu sync.Mutex
	var got []Progress
	inFlight, maxInFlight := 0, 0
	slow := func(ctx context.Context, tr TrialSpec, dir string) (*Record, error) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return fakeTrial(ctx, tr, dir)
	}
	t.Setenv("SWEEP_FAIL", "1")
	_, err := Run(context.Background(), tinySpec(t.TempDir()), Options{Workers: 2, Trial: slow, Progress: func(p Progress) { got = append(got, p) }})
	if !errors.Is(err, ErrTrialsFailed) {
		t.Fatalf("got %v; want ErrTrialsFailed (trial 3 fails)", err)
	}
	if len(got) != 8 {
		t.Fatalf("got %d progress reports; want 8 (start and end of 4 trials)", len(got))
	}
	last := got[len(got)-1]
	if last.Total != 4 || last.Done != 3 || last.Failed != 1 || last.Running != 0 {
		t.Errorf("last report %+v; want 3 done, 1 failed, 0 running of 4", last)
	}
	for i, p := range got {
		if p.Running > 2 || p.Running < 0 {
			t.Errorf("report %d: %d running with 2 workers", i, p.Running)
		}
		if i > 0 && p.Done+p.Failed < got[i-1].Done+got[i-1].Failed {
			t.Errorf("report %d: finished count went down", i)
		}
	}
	if maxInFlight != 2 {
		t.Errorf("at most %d trials ran at once; want 2", maxInFlight)
	}
	if s := last.String(); !strings.HasPrefix(s, "3/4 done, 0 running, 1 failed") {
		t.Errorf("String: got %q", s)
	}
}

func TestRunCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopper := func(c context.Context, tr TrialSpec, d string) (*Record, error) {
		cancel()
		<-c.Done()
		return nil, c.Err()
	}
	sum, err := Run(ctx, tinySpec(dir), Options{Workers: 1, Trial: stopper})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
	if sum.Ran != 0 || len(sum.Failures) != 0 {
		t.Errorf("got %+v; want nothing ran or failed", sum)
	}
	st, _ := OpenStore(tinySpec(dir), "")
	for _, tr := range st.Trials() {
		if s := st.Status(tr); s != Pending {
			t.Errorf("trial %d: %s after cancellation; want pending (an interruption is not a failure)", tr.Index, s)
		}
	}
}

// TestProgressBar drives the notebook progress bar (a text bar on standard
// error outside a kernel) through a sweep.
func TestProgressBar(t *testing.T) {
	calls := 0
	bar := ProgressBar("sweep")
	sum, err := Run(context.Background(), tinySpec(t.TempDir()), Options{Trial: fakeTrial, Progress: func(p Progress) {
		calls++
		bar(p)
	}})
	if err != nil || sum.Ran != 4 || calls != 8 {
		t.Errorf("got %v, %d ran, %d progress calls; want 4 ran, 8 calls", err, sum.Ran, calls)
	}
}
