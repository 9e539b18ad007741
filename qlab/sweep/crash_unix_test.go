//go:build unix

package sweep

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/qlab/train"
)

// TestCrashHelper is the child process of TestCrashLosesOnlyThatTrial: it
// runs the sweep with one worker and kills itself (SIGKILL) inside trial 2.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("SWEEP_CRASH_DIR")
	if dir == "" {
		t.Skip("child process of TestCrashLosesOnlyThatTrial")
	}
	Run(context.Background(), tinySpec(dir), Options{Workers: 1, Trial: func(ctx context.Context, tr TrialSpec, d string) (*Record, error) {
		if tr.Index == 2 {
			os.WriteFile(filepath.Join(d, "partial"), []byte("half a trial"), 0o644)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return fakeTrial(ctx, tr, d)
	}})
	t.Fatal("the helper should have been killed")
}

func TestCrashLosesOnlyThatTrial(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SWEEP_CRASH_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper: got %v (%s); want killed by SIGKILL", err, out)
	}
	st, err := OpenStore(tinySpec(dir), "")
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Trials()
	want := []Status{Done, Done, Pending, Pending}
	saved := map[int][]byte{}
	for i, tr := range ts {
		if got := st.Status(tr); got != want[i] {
			t.Errorf("trial %d after the crash: got %s; want %s", i, got, want[i])
		}
		saved[i], _ = os.ReadFile(filepath.Join(st.TrialDir(tr.ID), RecordFile))
	}
	// The dead process's lock is gone with it; the re-run finishes the
	// rest and leaves the finished records alone.
	sum, err := st.Run(context.Background(), Options{Trial: fakeTrial})
	if err != nil || sum.Ran != 2 || sum.Skipped != 2 {
		t.Fatalf("re-run: got %v, %+v; want 2 ran, 2 skipped", err, sum)
	}
	for i := 0; i < 2; i++ {
		b, _ := os.ReadFile(filepath.Join(st.TrialDir(ts[i].ID), RecordFile))
		if !bytes.Equal(b, saved[i]) {
			t.Errorf("trial %d record changed by the re-run", i)
		}
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, "trials", "*", ".*.tmp"))
	if len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// resumeSpec is a single two-epoch trial, so a kill can land between
// epochs.
func resumeSpec(dir string) *Spec {
	s := tinySpec(dir)
	s.Initializers, s.Seeds = []string{"he_normal"}, []uint64{5}
	s.Train.Epochs = 2
	s.Data.TrainSubset = 512
	return s
}

// TestKillMidTrainingHelper is the child of TestKillMidTrainingResumes: it
// runs the real trial and SIGKILLs itself as soon as the first epoch's
// checkpoint appears.
func TestKillMidTrainingHelper(t *testing.T) {
	dir := os.Getenv("SWEEP_KILL_DIR")
	if dir == "" {
		t.Skip("child process of TestKillMidTrainingResumes")
	}
	Run(context.Background(), resumeSpec(dir), Options{Trial: func(ctx context.Context, tr TrialSpec, d string) (*Record, error) {
		go func() {
			for {
				if _, err := os.Stat(filepath.Join(d, train.CheckpointFile)); err == nil {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
				}
				time.Sleep(time.Millisecond)
			}
		}()
		return DefaultTrial(ctx, tr, d)
	}})
	t.Fatal("the helper should have been killed")
}

// TestKillMidTrainingResumes kills a real trial after its first epoch; the
// re-run resumes from the checkpoint and writes the record an
// uninterrupted run writes, byte for byte.
func TestKillMidTrainingResumes(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillMidTrainingHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SWEEP_KILL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper: got %v (%s); want killed by SIGKILL", err, out)
	}
	st, err := OpenStore(resumeSpec(dir), "")
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := st.Trial(0)
	if s := st.Status(tr); s != Pending {
		t.Fatalf("after the kill: status %s; want pending", s)
	}
	ck, err := train.LoadCheckpoint(st.TrialDir(tr.ID))
	if err != nil || ck.NextEpoch != 1 {
		t.Fatalf("checkpoint left by the kill: %v, next epoch %v; want one after epoch 1", err, ck)
	}
	if _, err := st.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	fresh := resumeSpec(t.TempDir())
	if _, err := Run(context.Background(), fresh, Options{}); err != nil {
		t.Fatal(err)
	}
	fst, _ := OpenStore(fresh, "")
	a, _ := os.ReadFile(filepath.Join(st.TrialDir(tr.ID), RecordFile))
	b, _ := os.ReadFile(filepath.Join(fst.TrialDir(tr.ID), RecordFile))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("resumed and uninterrupted records differ:\n%s\n----\n%s", a, b)
	}
}
