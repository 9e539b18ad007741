package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	err := os.WriteFile(spec, []byte(`
name: cli
architectures: [tiny-vgg]
initializers: [he_normal]
seeds: [1]
train: {epochs: 1, batch_size: 32}
data: {train_subset: 128, test_subset: 64, calibration_subset: 32}
metrics: []
results_dir: out
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring of stdout
		stderrPart string // substring of stderr
	}{
		{"usage", []string{"sweep"}, 2, "", "usage:"},
		{"unknown command", []string{"sweep", "fly", spec}, 2, "", "usage:"},
		{"bad index", []string{"sweep", "run-trial", spec, "x"}, 2, "", `task index "x"`},
		{"index out of range", []string{"sweep", "run-trial", spec, "5"}, 1, "", "task 5 (chunks of 1) out of range for 1 trials"},
		{"missing spec", []string{"sweep", "status", filepath.Join(dir, "nope.yaml")}, 1, "", "nope.yaml"},
		{"run", []string{"sweep", "run", spec}, 0, "", "1 trials: 1 ran"},
		{"run again", []string{"sweep", "run", spec}, 0, "", "1 already done"},
		{"run-trial done", []string{"sweep", "run-trial", spec, "0"}, 0, "", ""},
		{"status", []string{"sweep", "status", filepath.Join(dir, "out")}, 0, "1 done, 0 failed, 0 pending", ""},
		{"table", []string{"sweep", "table", "-format", "csv", spec, "summary"}, 0, "arch,init,config,n,fp32_mean", ""},
		{"unknown table", []string{"sweep", "table", spec, "nope"}, 2, "", `unknown table "nope"`},
		{"dry run", []string{"sweep", "slurm", "-dry-run", "-binary", "/opt/q/qlab", "-partition", "short", spec}, 0, "exec '/opt/q/qlab' sweep run-trial -chunk 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(ctx, tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderrPart) {
				t.Errorf("qlab %v: got exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q",
					tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderrPart)
			}
		})
	}
}
