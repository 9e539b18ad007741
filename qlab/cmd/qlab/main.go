// Command qlab runs qlab's ablation sweeps from a shell or a Slurm job.
//
//	qlab sweep run [-workers N] [-only I,J] [-skip-failed] SPEC
//	qlab sweep run-trial [-chunk K] SPEC I
//	qlab sweep slurm [-binary PATH] [-chunk K] [-partition P] [-time T]
//	                 [-cpus N] [-mem M] [-max-parallel N] [-directive D]...
//	                 [-dry-run] [-wait] SPEC
//	qlab sweep status SPEC
//	qlab sweep table [-format text|csv|json] [-level L] SPEC summary|paired|trials|layers
//
// SPEC is a sweep spec file (YAML or JSON; see package sweep) or a results
// directory (its spec.json is used). run-trial runs array task I: trials
// I*K to I*K+K-1 (K = 1 by default, so trial I); Slurm array scripts call
// it. The exit status is 0 when everything asked for finished, 1 when a
// trial failed, 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/qlab-dev/qlab/qlab/sweep"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  qlab sweep run [-workers N] [-only I,J] [-skip-failed] SPEC
  qlab sweep run-trial [-chunk K] SPEC I
  qlab sweep slurm [flags] SPEC      (qlab sweep slurm -h for the flags)
  qlab sweep status SPEC
  qlab sweep table [-format text|csv|json] [-level L] SPEC summary|paired|trials|layers
SPEC is a spec file (YAML/JSON) or a results directory.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "sweep" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[1], args[2:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, args, stderr)
	case "run-trial":
		err = cmdRunTrial(ctx, args, stderr)
	case "slurm":
		err = cmdSlurm(ctx, args, stdout, stderr)
	case "status":
		err = cmdStatus(args, stdout, stderr)
	case "table":
		err = cmdTable(args, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "qlab: %v\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "qlab: %v\n", err)
		return 1
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// openSpec opens the store of a spec file or a results directory.
func openSpec(path string) (*sweep.Store, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, sweep.SpecFile)
	}
	spec, err := sweep.LoadSpec(path)
	if err != nil {
		return nil, err
	}
	return sweep.OpenStore(spec, "")
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("qlab sweep "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	workers := fs.Int("workers", 0, "trials at once (0: max(1, GOMAXPROCS/2))")
	only := fs.String("only", "", "comma-separated trial indices to run (default all)")
	skipFailed := fs.Bool("skip-failed", false, "leave trials with a recorded failure alone")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"sweep run needs one SPEC"}
	}
	st, err := openSpec(fs.Arg(0))
	if err != nil {
		return err
	}
	opts := sweep.Options{Workers: *workers, SkipFailed: *skipFailed, Progress: sweep.TextProgress(stderr)}
	if *only != "" {
		for _, f := range strings.Split(*only, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return usageError{fmt.Sprintf("-only: %q is not a trial index", f)}
			}
			opts.Only = append(opts.Only, i)
		}
	}
	sum, err := st.Run(ctx, opts)
	if sum != nil {
		fmt.Fprintf(stderr, "sweep: %d trials: %d ran, %d already done, %d failed, %d busy elsewhere, in %s\n",
			sum.Total, sum.Ran, sum.Skipped, len(sum.Failures), sum.Busy, sum.Elapsed.Round(1e6))
	}
	return err
}

func cmdRunTrial(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("run-trial", stderr)
	chunk := fs.Int("chunk", 1, "trials per array task")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 2 {
		return usageError{"sweep run-trial needs SPEC and a task index"}
	}
	k, err := strconv.Atoi(fs.Arg(1))
	if err != nil || k < 0 {
		return usageError{fmt.Sprintf("task index %q is not a non-negative integer", fs.Arg(1))}
	}
	st, err := openSpec(fs.Arg(0))
	if err != nil {
		return err
	}
	return st.RunTask(ctx, k, *chunk, nil)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func cmdSlurm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("slurm", stderr)
	var o sweep.SlurmOptions
	fs.StringVar(&o.Binary, "binary", "", "qlab binary the tasks run (default: this one)")
	fs.IntVar(&o.TrialsPerTask, "chunk", 1, "trials per array task")
	fs.StringVar(&o.Partition, "partition", "", "sbatch --partition")
	fs.StringVar(&o.Time, "time", "", "sbatch --time per task, e.g. 02:00:00")
	fs.IntVar(&o.CPUsPerTask, "cpus", 0, "sbatch --cpus-per-task")
	fs.StringVar(&o.Mem, "mem", "", "sbatch --mem, e.g. 4G")
	fs.StringVar(&o.Account, "account", "", "sbatch --account")
	fs.IntVar(&o.MaxParallel, "max-parallel", 0, "at most this many tasks at once (--array=...%N)")
	var directives, setup listFlag
	fs.Var(&directives, "directive", "extra #SBATCH option (repeatable)")
	fs.Var(&setup, "setup", "shell line run before the trial (repeatable)")
	dry := fs.Bool("dry-run", false, "print the script instead of submitting it")
	wait := fs.Bool("wait", false, "wait for the job and report failed tasks")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"sweep slurm needs one SPEC"}
	}
	o.Directives, o.Setup = directives, setup
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Binary = exe
	}
	st, err := openSpec(fs.Arg(0))
	if err != nil {
		return err
	}
	if *dry {
		var tasks []int
		for i := range st.Trials() {
			if i%max(o.TrialsPerTask, 1) == 0 {
				tasks = append(tasks, i/max(o.TrialsPerTask, 1))
			}
		}
		script, err := st.SlurmScript(tasks, o)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, script)
		return nil
	}
	job, err := st.SubmitSlurm(ctx, o)
	if err != nil {
		return err
	}
	if job.ID == "" {
		fmt.Fprintln(stderr, "sweep: every trial is done; nothing submitted")
		return nil
	}
	fmt.Fprintf(stdout, "%s\n", job.ID)
	fmt.Fprintf(stderr, "sweep: submitted job %s (%d array tasks, script %s)\n", job.ID, len(job.Tasks), job.Script)
	if !*wait {
		return nil
	}
	rep, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "sweep:", rep)
	for _, f := range rep.Failures {
		fmt.Fprintf(stderr, "  trial %d (%s, %s, seed %d): %s\n", f.Index, f.Arch, f.Init, f.Seed, f.Error)
	}
	if !rep.OK() {
		return fmt.Errorf("job %s: %d trials failed, %d missing", rep.JobID, len(rep.Failed), len(rep.Missing))
	}
	return nil
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"sweep status needs one SPEC"}
	}
	st, err := openSpec(fs.Arg(0))
	if err != nil {
		return err
	}
	counts := map[sweep.Status]int{}
	for _, t := range st.Trials() {
		s := st.Status(t)
		counts[s]++
		fmt.Fprintf(stdout, "%4d %s %-8s %s %s seed %d\n", t.Index, t.ID, s, t.Arch, t.Init, t.Seed)
	}
	fmt.Fprintf(stdout, "%d done, %d failed, %d pending\n", counts[sweep.Done], counts[sweep.Failed], counts[sweep.Pending])
	return nil
}

func cmdTable(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("table", stderr)
	format := fs.String("format", "text", "text, csv or json")
	lvl := fs.Float64("level", 0.95, "confidence level")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 2 {
		return usageError{"sweep table needs SPEC and a table name"}
	}
	st, err := openSpec(fs.Arg(0))
	if err != nil {
		return err
	}
	res, err := st.Results()
	if err != nil {
		return err
	}
	var tab interface {
		CSV(io.Writer) error
		JSON(io.Writer) error
		String() string
	}
	switch fs.Arg(1) {
	case "summary":
		tab, err = res.Summary(*lvl)
	case "paired":
		tab, err = res.Paired(sweep.PairedOptions{Level: *lvl})
	case "trials":
		tab = res.Trials()
	case "layers":
		tab, err = res.Layers()
	default:
		return usageError{fmt.Sprintf("unknown table %q", fs.Arg(1))}
	}
	if err != nil {
		return err
	}
	switch *format {
	case "csv":
		return tab.CSV(stdout)
	case "json":
		return tab.JSON(stdout)
	case "text":
		_, err := fmt.Fprint(stdout, tab.String())
		return err
	}
	return usageError{fmt.Sprintf("unknown format %q", *format)}
}
