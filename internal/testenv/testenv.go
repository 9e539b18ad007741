// Package testenv lets tests that need outside tools (Debian's PyTorch,
// Jupyter, nbclient, Chromium, Slurm) say so in one line. Locally a missing
// tool skips the test with a message naming the package to install; in CI,
// where .ci/run sets QLAB_REQUIRE_EXTERNAL=1, the same absence fails the test,
// so a green CI run never hides a skipped oracle.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv is the environment variable that turns skips into failures.
const RequireEnv = "QLAB_REQUIRE_EXTERNAL"

// Required reports whether missing external tools must fail tests.
func Required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Missing skips t (locally) or fails it (when Required) with a message that
// names what is missing and how to get it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := what + " is not available (install: " + install + ")"
	if Required() {
		t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
	}
	t.Skip(msg)
}

// Python returns the path of a Python 3 interpreter that can import every
// module in modules, preferring Debian's /usr/bin/python3 (where apt installs
// python3-torch, python3-nbclient and friends) over whatever is first on PATH.
// When none can, it calls Missing with the Debian package names in debs.
func Python(t testing.TB, debs string, modules ...string) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	script := "import " + strings.Join(modules, ", ")
	if len(modules) == 0 {
		script = "pass"
	}
	for _, py := range candidates {
		if _, err := os.Stat(py); err != nil {
			continue
		}
		if err := exec.Command(py, "-c", script).Run(); err == nil {
			return py
		}
	}
	Missing(t, "python3 with "+strings.Join(modules, ", "), "apt-get install "+debs)
	return ""
}

// Command returns the path of an executable on PATH, or calls Missing.
func Command(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
		return ""
	}
	return p
}

// JupyterEnv installs the kernelspec of the qlab-kernel binary bin into a
// temporary prefix and returns the environment (os.Environ plus Jupyter's
// path variables) under which Jupyter finds that kernel and nothing of the
// user's own Jupyter setup.
func JupyterEnv(t testing.TB, bin string) []string {
	t.Helper()
	prefix := t.TempDir()
	if b, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("qlab-kernel install: %v\n%s", err, b)
	}
	return append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(prefix, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(prefix, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(prefix, "config"),
		"JUPYTER_PLATFORM_DIRS=1",
		"IPYTHONDIR="+filepath.Join(prefix, "ipython"))
}
