package sweep

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/qlab/data"
)

func TestSlurmScript(t *testing.T) {
	st, err := OpenStore(tinySpec(t.TempDir()), "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.SlurmScript([]int{0, 2}, SlurmOptions{Binary: "/opt/qlab/bin/qlab", TrialsPerTask: 2, Partition: "gpu",
		Time: "01:00:00", CPUsPerTask: 4, Mem: "8G", MaxParallel: 3, Directives: []string{"--qos=short"}, Setup: []string{"module load go"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#SBATCH --array=0,2%3\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=01:00:00\n", "#SBATCH --cpus-per-task=4\n",
		"#SBATCH --mem=8G\n", "#SBATCH --qos=short\n", "#SBATCH --job-name=qlab-tiny\n", "module load go\n",
		"exec '/opt/qlab/bin/qlab' sweep run-trial -chunk 2 '" + st.SpecPath() + "' \"$SLURM_ARRAY_TASK_ID\"\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if _, err := st.SlurmScript([]int{0}, SlurmOptions{Binary: "/x", Directives: []string{"--a\n--b"}}); err == nil {
		t.Errorf("multi-line directive: got no error")
	}
}

func TestSlurmCommandErrors(t *testing.T) {
	bin := t.TempDir()
	t.Run("missing", func(t *testing.T) {
		t.Setenv("PATH", bin)
		_, err := SubmitSlurm(context.Background(), tinySpec(t.TempDir()), SlurmOptions{Binary: "/x/qlab"})
		if !errors.Is(err, ErrSlurm) || !strings.Contains(err.Error(), "sbatch not found") {
			t.Errorf("got %v; want ErrSlurm naming sbatch", err)
		}
	})
	t.Run("failing", func(t *testing.T) {
		fake := "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin)
		dir := t.TempDir()
		_, err := SubmitSlurm(context.Background(), tinySpec(dir), SlurmOptions{Binary: "/x/qlab", Partition: "nope"})
		if !errors.Is(err, ErrSlurm) || !strings.Contains(err.Error(), "invalid partition specified: nope") {
			t.Errorf("got %v; want ErrSlurm quoting sbatch's message", err)
		}
		recs, _ := filepath.Glob(filepath.Join(dir, "trials", "*", RecordFile))
		if len(recs) != 0 {
			t.Errorf("records written by a failed submission: %v", recs)
		}
	})
}

// buildQlab builds the qlab command into dir, with this test binary's
// build tags, so that its kernels (and so its float bits) are the ones the
// local runner uses here.
func buildQlab(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "qlab")
	gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(gocmd, "build", "-tags="+buildTags, "-o", out, "github.com/qlab-dev/qlab/qlab/cmd/qlab")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestSlurmCluster submits a 3-trial grid to a real Slurm cluster (CI
// starts a single-node one with .ci/slurm.sh), cancels one array task,
// resubmits, and checks the records equal the local runner's byte for byte.
func TestSlurmCluster(t *testing.T) {
	testenv.Command(t, "sbatch", "slurm-client (and a cluster: .ci/slurm.sh)")
	if out, err := exec.Command("sinfo", "-h", "-o", "%t").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) == 0 {
		testenv.Missing(t, "a running Slurm cluster (sinfo: "+strings.TrimSpace(string(out))+")", ".ci/slurm.sh and export SLURM_CONF")
	}
	tmp := t.TempDir()
	t0 := time.Now()
	bin := buildQlab(t, tmp)
	t.Logf("go build qlab: %.1f s", time.Since(t0).Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Smaller than tinySpec: the point is the plumbing, not the accuracy.
	// The MNIST subset is written as IDX files, so each array task reads
	// 320 images instead of decoding all 70,000.
	mini := writeMiniMNIST(t, filepath.Join(tmp, "mnist"), 256, 64)
	small := func(dir string) *Spec {
		s := tinySpec(dir)
		s.Data.Dir = mini
		s.Initializers = []string{"he_normal"}
		s.Seeds = []uint64{1, 2, 3}
		s.Quant = s.Quant[:1]
		s.Data.TrainSubset, s.Data.TestSubset = 256, 64
		return s
	}
	spec := small(filepath.Join(tmp, "slurm-store"))
	st, err := OpenStore(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	// One task at a time, so task 2 is still pending when it is cancelled.
	opts := SlurmOptions{Binary: bin, MaxParallel: 1, Poll: 200 * time.Millisecond, Time: "00:10:00"}
	start := time.Now()
	job, err := st.SubmitSlurm(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Tasks) != 3 {
		t.Fatalf("submitted %d tasks; want 3", len(job.Tasks))
	}
	if out, err := exec.Command("scancel", job.ID+"_2").CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v: %s", err, out)
	}
	rep, err := job.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	firstWall := time.Since(start)
	if got, want := len(rep.Done), 2; got != want || len(rep.Missing) != 1 || rep.Missing[0] != 2 {
		logs, _ := filepath.Glob(filepath.Join(st.Dir, "slurm", "*.out"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, b)
		}
		t.Fatalf("after cancelling task 2: %s; want trials 0 and 1 done, 2 missing", rep)
	}
	t.Logf("first submission: %s; sacct states %v", rep, rep.TaskStates)

	job2, err := st.SubmitSlurm(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(job2.Tasks) != 1 || job2.Tasks[2] == nil {
		t.Fatalf("resubmission tasks %v; want only task 2", job2.Tasks)
	}
	rep2, err := job2.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep2.OK() || len(rep2.Done) != 1 {
		t.Fatalf("resubmission: %s; want trial 2 done", rep2)
	}
	if job3, err := st.SubmitSlurm(ctx, opts); err != nil || job3.ID != "" {
		t.Errorf("third submission: got job %q, %v; want nothing submitted", job3.ID, err)
	}

	t.Logf("resubmission done after %.1f s", time.Since(start).Seconds())
	// The same grid on the local runner gives the same bytes.
	local := small(filepath.Join(tmp, "local-store"))
	if _, err := Run(ctx, local, Options{}); err != nil {
		t.Fatal(err)
	}
	lst, _ := OpenStore(local, "")
	var trialSecs float64
	for _, tr := range st.Trials() {
		a, err := os.ReadFile(filepath.Join(st.TrialDir(tr.ID), RecordFile))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(lst.TrialDir(tr.ID), RecordFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("trial %d: Slurm and local records differ", tr.Index)
		}
		if tr.Index < 2 {
			var tm Timing
			if tb, err := os.ReadFile(filepath.Join(st.TrialDir(tr.ID), TimingFile)); err == nil {
				if json.Unmarshal(tb, &tm) == nil {
					trialSecs += tm.Seconds
				}
			}
		}
	}
	// Slurm overhead: the first job ran 2 trials one after another.
	t.Logf("slurm: 2 trials in %.2f s wall, %.2f s inside the trials: %.2f s overhead per trial",
		firstWall.Seconds(), trialSecs, (firstWall.Seconds()-trialSecs)/2)
}

// writeMiniMNIST writes the first ntrain and ntest MNIST samples as the
// four IDX files of a dataset directory.
func writeMiniMNIST(t *testing.T, dir string, ntrain, ntest int) string {
	t.Helper()
	tr, te, err := data.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, magic byte, dims []int, body []byte) {
		var b bytes.Buffer
		b.Write([]byte{0, 0, 8, magic})
		for _, d := range dims {
			b.Write(binary.BigEndian.AppendUint32(nil, uint32(d)))
		}
		b.Write(body)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, ds := range []*data.Dataset{tr.Subset(ntrain), te.Subset(ntest)} {
		px := make([]byte, len(ds.Images.Data))
		for i, v := range ds.Images.Data {
			px[i] = byte(math.Round(float64(v) * 255))
		}
		lb := make([]byte, ds.Len())
		for i, l := range ds.Labels {
			lb[i] = byte(l)
		}
		write(data.IDXNames[2*k], 3, []int{ds.Len(), 28, 28}, px)
		write(data.IDXNames[2*k+1], 1, []int{ds.Len()}, lb)
	}
	return dir
}

func TestChunkedTasks(t *testing.T) {
	st, err := OpenStore(tinySpec(t.TempDir()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.RunTask(ctx, 1, 2, fakeTrial); err != nil {
		t.Fatal(err)
	}
	want := []Status{Pending, Pending, Done, Done}
	for i, tr := range st.Trials() {
		if got := st.Status(tr); got != want[i] {
			t.Errorf("trial %d: %s; want %s", i, got, want[i])
		}
	}
	pend := st.pendingTasks(2)
	if len(pend) != 1 || len(pend[0]) != 2 || pend[0][0] != 0 || pend[0][1] != 1 {
		t.Errorf("pending tasks of 2: got %v; want {0: [0 1]}", pend)
	}
	pend3 := st.pendingTasks(3)
	if len(pend3) != 1 || len(pend3[0]) != 3 {
		t.Errorf("pending tasks of 3: got %v; want {0: [0 1 2]} (task 1 = trial 3 is done)", pend3)
	}
	if err := st.RunTask(ctx, 2, 2, fakeTrial); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("task 2 of 4 trials in pairs: got %v; want out of range", err)
	}
	t.Setenv("SWEEP_FAIL", "1")
	st2, _ := OpenStore(tinySpec(t.TempDir()), "")
	if err := st2.RunTask(ctx, 1, 2, fakeTrial); err == nil || !strings.Contains(err.Error(), "diverged on purpose") {
		t.Errorf("task with a failing trial: got %v; want its error", err)
	}
}
