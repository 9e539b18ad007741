package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrSlurm is wrapped by errors from Slurm commands: one missing from PATH,
// or one that fails (its standard error is quoted).
var ErrSlurm = errors.New("sweep: slurm")

// SlurmOptions configure a Slurm submission. The zero value submits one
// array task per unfinished trial, running the `qlab` on PATH, with the
// cluster's default partition, time limit and resources.
type SlurmOptions struct {
	// Binary is the qlab command the tasks run (`qlab sweep run-trial`);
	// "" means the qlab found on PATH at submission. Its absolute path is
	// written into the script, so nodes need the same path (a shared file
	// system, as for the results store).
	Binary string
	// TrialsPerTask groups trials into chunks, one array task each (trial
	// i is in task i / TrialsPerTask), for grids larger than the
	// cluster's MaxArraySize or trials too short to be worth a task each.
	// 0 means 1.
	TrialsPerTask int
	// Partition, Time (sbatch --time, e.g. "02:00:00"), CPUsPerTask, Mem
	// (e.g. "4G") and Account are passed to sbatch when set; "" or 0
	// leaves the cluster's default.
	Partition   string
	Time        string
	CPUsPerTask int
	Mem         string
	Account     string
	// MaxParallel throttles the array (--array=...%MaxParallel); 0 means
	// no throttle.
	MaxParallel int
	// JobName is the job's name; "" means "qlab-" + the spec's name.
	JobName string
	// Directives are extra sbatch options, one per #SBATCH line, e.g.
	// "--qos=short" or "--constraint=avx512".
	Directives []string
	// Setup are shell lines run before the trial (e.g. "module load go").
	Setup []string
	// LogDir receives each task's output as <job>_<task>.out; "" means
	// <results dir>/slurm.
	LogDir string
	// Poll is the interval at which Wait asks squeue; 0 means 2 s.
	Poll time.Duration
}

// SlurmJob is a submitted job array.
type SlurmJob struct {
	// ID is Slurm's job ID ("" when nothing needed submitting).
	ID string
	// Script is the path of the sbatch script.
	Script string
	// Tasks maps each array task ID to the trial indices it runs.
	Tasks map[int][]int
	store *Store
	opts  SlurmOptions
}

// SlurmReport is the state of a job array's trials after it ended.
type SlurmReport struct {
	JobID string
	// Done, Failed and Missing list trial indices of the job's tasks: with
	// a record, with a recorded failure, and with neither (the task was
	// cancelled, killed, timed out or never ran).
	Done, Failed, Missing []int
	// TaskStates maps array task IDs to their sacct state ("COMPLETED",
	// "FAILED", "CANCELLED", ...) where sacct works; nil otherwise.
	TaskStates map[int]string
	// Failures are the recorded failures of Failed.
	Failures []Failure
}

// OK reports whether every trial of the job finished with a record.
func (r *SlurmReport) OK() bool { return len(r.Failed) == 0 && len(r.Missing) == 0 }

// String summarises the report in one line.
func (r *SlurmReport) String() string {
	s := fmt.Sprintf("job %s: %d done, %d failed, %d missing", r.JobID, len(r.Done), len(r.Failed), len(r.Missing))
	if len(r.Failed) > 0 {
		s += fmt.Sprintf("; failed trials %v", r.Failed)
	}
	if len(r.Missing) > 0 {
		s += fmt.Sprintf("; missing trials %v (resubmit to run them)", r.Missing)
	}
	return s
}

func slurmCommand(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s not found on PATH (run on a Slurm login node, or install slurm-client)", ErrSlurm, name)
	}
	return p, nil
}

func runSlurm(ctx context.Context, name string, args ...string) ([]byte, error) {
	p, err := slurmCommand(name)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v: %s", ErrSlurm, name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// SlurmScript returns the sbatch script that runs the given array tasks
// of the store's spec (tasks as in SlurmJob.Tasks' keys).
func (s *Store) SlurmScript(tasks []int, opts SlurmOptions) (string, error) {
	bin := opts.Binary
	if bin == "" {
		p, err := exec.LookPath("qlab")
		if err != nil {
			return "", fmt.Errorf("%w: no qlab command on PATH for the array tasks; set SlurmOptions.Binary (go build -o qlab github.com/qlab-dev/qlab/qlab/cmd/qlab)", ErrSlurm)
		}
		bin = p
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSlurm, err)
	}
	if len(tasks) == 0 {
		return "", fmt.Errorf("%w: no array tasks", ErrSlurm)
	}
	logDir := opts.LogDir
	if logDir == "" {
		logDir = filepath.Join(s.Dir, "slurm")
	}
	name := opts.JobName
	if name == "" {
		name = "qlab-" + s.spec.Name
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = strconv.Itoa(t)
	}
	array := strings.Join(ids, ",")
	if opts.MaxParallel > 0 {
		array += "%" + strconv.Itoa(opts.MaxParallel)
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(logDir, "%A_%a.out"))
	if opts.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", opts.Partition)
	}
	if opts.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", opts.Time)
	}
	if opts.CPUsPerTask > 0 {
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", opts.CPUsPerTask)
	}
	if opts.Mem != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", opts.Mem)
	}
	if opts.Account != "" {
		fmt.Fprintf(&b, "#SBATCH --account=%s\n", opts.Account)
	}
	for _, d := range opts.Directives {
		if strings.ContainsAny(d, "\n\r") {
			return "", fmt.Errorf("%w: directive %q spans lines", ErrSlurm, d)
		}
		fmt.Fprintf(&b, "#SBATCH %s\n", d)
	}
	b.WriteString("set -eu\n")
	b.WriteString("# One Go thread per allocated CPU: without CPU binding the runtime\n# would otherwise use every core of a shared node.\n")
	b.WriteString("if [ -n \"${SLURM_CPUS_PER_TASK:-}\" ]; then export GOMAXPROCS=$SLURM_CPUS_PER_TASK; fi\n")
	for _, l := range opts.Setup {
		b.WriteString(l + "\n")
	}
	per := max(opts.TrialsPerTask, 1)
	fmt.Fprintf(&b, "exec %s sweep run-trial -chunk %d %s \"$SLURM_ARRAY_TASK_ID\"\n", shellQuote(bin), per, shellQuote(s.SpecPath()))
	return b.String(), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// pendingTasks returns the array tasks (chunks of per trials) holding at
// least one trial without a record, with their trials.
func (s *Store) pendingTasks(per int) map[int][]int {
	tasks := map[int][]int{}
	for _, t := range s.trials {
		if s.Status(t) != Done {
			k := t.Index / per
			tasks[k] = nil
		}
	}
	for k := range tasks {
		for i := k * per; i < min((k+1)*per, len(s.trials)); i++ {
			tasks[k] = append(tasks[k], i)
		}
	}
	return tasks
}

// SubmitSlurm writes an sbatch job-array script for spec's unfinished
// trials into the results store (opened or created as by OpenStore) and
// submits it. Re-submitting after a partial run submits only the tasks
// with unfinished trials; when none is left the job has ID "" and no
// tasks. A missing or failing sbatch is an error wrapping ErrSlurm.
func SubmitSlurm(ctx context.Context, spec *Spec, opts SlurmOptions) (*SlurmJob, error) {
	st, err := OpenStore(spec, "")
	if err != nil {
		return nil, err
	}
	return st.SubmitSlurm(ctx, opts)
}

// SubmitSlurm is the package-level SubmitSlurm on an open store.
func (s *Store) SubmitSlurm(ctx context.Context, opts SlurmOptions) (*SlurmJob, error) {
	per := max(opts.TrialsPerTask, 1)
	tasks := s.pendingTasks(per)
	job := &SlurmJob{Tasks: tasks, store: s, opts: opts}
	if len(tasks) == 0 {
		return job, nil
	}
	if _, err := slurmCommand("sbatch"); err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(tasks))
	for k := range tasks {
		ids = append(ids, k)
	}
	sort.Ints(ids)
	script, err := s.SlurmScript(ids, opts)
	if err != nil {
		return nil, err
	}
	logDir := opts.LogDir
	if logDir == "" {
		logDir = filepath.Join(s.Dir, "slurm")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: slurm logs: %w", err)
	}
	path := filepath.Join(s.Dir, "slurm", "array.sbatch")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sweep: slurm script: %w", err)
	}
	if err := writeFileAtomic(path, []byte(script)); err != nil {
		return nil, fmt.Errorf("sweep: slurm script: %w", err)
	}
	job.Script = path
	out, err := runSlurm(ctx, "sbatch", "--parsable", path)
	if err != nil {
		return nil, err
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return nil, fmt.Errorf("%w: sbatch printed %q, not a job ID", ErrSlurm, out)
	}
	job.ID = id
	return job, nil
}

// Wait polls squeue until none of the job's tasks is pending or running,
// then reports each trial's state from the results store (and each task's
// sacct state where accounting is available). Cancelling ctx stops waiting
// (the job keeps running).
func (j *SlurmJob) Wait(ctx context.Context) (*SlurmReport, error) {
	if j.ID != "" {
		poll := j.opts.Poll
		if poll <= 0 {
			poll = 2 * time.Second
		}
		for {
			out, err := runSlurm(ctx, "squeue", "-h", "-j", j.ID, "-o", "%i %T")
			if err != nil {
				// squeue refuses job IDs that have left the controller.
				if !strings.Contains(err.Error(), "Invalid job id") {
					return nil, err
				}
				out = nil
			}
			if len(bytes.TrimSpace(out)) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("sweep: waiting for job %s: %w", j.ID, ctx.Err())
			case <-time.After(poll):
			}
		}
	}
	return j.Report(ctx)
}

// Report returns the state of the job's trials now.
func (j *SlurmJob) Report(ctx context.Context) (*SlurmReport, error) {
	r := &SlurmReport{JobID: j.ID}
	var all []int
	for _, trials := range j.Tasks {
		all = append(all, trials...)
	}
	sort.Ints(all)
	for _, i := range all {
		t := j.store.trials[i]
		switch j.store.Status(t) {
		case Done:
			r.Done = append(r.Done, i)
		case Failed:
			r.Failed = append(r.Failed, i)
			if f, err := j.store.Failure(t.ID); err == nil {
				r.Failures = append(r.Failures, *f)
			}
		default:
			r.Missing = append(r.Missing, i)
		}
	}
	if j.ID != "" {
		if out, err := runSlurm(ctx, "sacct", "-j", j.ID, "-X", "-n", "-P", "--format=JobID,State"); err == nil {
			r.TaskStates = parseSacct(out, j.ID)
		}
	}
	return r, nil
}

// parseSacct reads "jobid_task|STATE" lines; ranges of pending tasks
// ("123_[4-7]") are left out.
func parseSacct(out []byte, job string) map[int]string {
	m := map[int]string{}
	for _, line := range strings.Split(string(out), "\n") {
		id, state, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok {
			continue
		}
		rest, ok := strings.CutPrefix(id, job+"_")
		if !ok {
			continue
		}
		if k, err := strconv.Atoi(rest); err == nil {
			m[k] = strings.Fields(state + " ")[0]
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// RunTask runs the trials of array task k (chunks of per trials) in this
// process, as `qlab sweep run-trial -chunk per SPEC k` does: trials
// already done are skipped. It returns an error when any trial failed or
// was held by another process, so the array task's exit status shows it.
func (s *Store) RunTask(ctx context.Context, k, per int, fn TrialFunc) error {
	per = max(per, 1)
	lo, hi := k*per, min((k+1)*per, len(s.trials))
	if k < 0 || lo >= len(s.trials) {
		return fmt.Errorf("sweep: task %d (chunks of %d) out of range for %d trials", k, per, len(s.trials))
	}
	var errs []error
	for i := lo; i < hi; i++ {
		out, err := s.RunTrial(ctx, s.trials[i], fn, false)
		switch {
		case err != nil:
			errs = append(errs, err)
		case out == Busy:
			errs = append(errs, fmt.Errorf("sweep: trial %d is locked by another process", i))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}
