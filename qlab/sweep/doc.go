// Package sweep runs the study's ablation grid — architectures x
// initializers x seeds, each trained model evaluated under every
// quantization config of the spec — resumably, on one machine or as a Slurm
// job array, and turns the results into statistics: means with Student-t
// confidence intervals across seeds, paired comparisons between
// initializers (paired t-test and a seeded bootstrap interval) and per-layer
// tables aligned across the grid.
//
// A Spec (a plain struct, or a YAML/JSON file read by LoadSpec) expands into
// TrialSpecs; each trial has a stable ID, the hash of the canonical JSON of
// its settings. A Store is a results directory bound to one spec by its
// manifest: one directory per trial holding record.json (everything a
// trial computes, bit-identical between two runs of the same trial),
// timing.json (wall-clock facts, kept apart so records compare exactly) and
// the final training checkpoint; every file is written atomically, and a
// per-trial lock (flock) lets several sweeps — local workers, Slurm array
// tasks — share one store. Re-running a sweep skips finished trials.
//
// Three ways to run the same spec, all writing the same bytes:
//
//   - in a notebook or program: Run(ctx, spec, Options{Progress:
//     ProgressBar("sweep")}), then LoadResults(dir).Summary(0);
//   - on a terminal: qlab sweep run SPEC (package qlab/cmd/qlab);
//   - on a Slurm cluster: SubmitSlurm (or qlab sweep slurm SPEC) writes and
//     submits a job-array script whose tasks run `qlab sweep run-trial
//     SPEC I`; Wait follows the job with squeue and reports the trials left
//     failed or missing; submitting again runs only those.
//
// Statistics (Results): per (architecture, initializer, config) the mean
// and 95% Student-t interval across seeds of FP32 accuracy, quantized
// accuracy and the drop; paired t-tests and seeded bootstrap intervals
// between initializers over common seeds; per-layer tables aligned across
// the grid; accuracy bars and layer heatmaps through package figures.
//
// Boundary: sweep schedules and records trials; training is package train's,
// quantization package quant's, tables package analysis's and drawing
// package figures'. The trial body is a function value (TrialFunc), so a
// notebook can sweep anything; DefaultTrial trains with train.Fit and
// evaluates FP32 and fake-quantized accuracy.
package sweep
