package notebooks_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/kernel/notebook"
	"github.com/qlab-dev/qlab/qlab/data"
)

// testOverrides shrink every notebook to seconds: a 256/128-image copy of
// MNIST, one epoch, two initializers. Each notebook gets the ones its
// parameters cell declares.
var testOverrides = map[string]string{
	"TrainN": "192", "TestN": "96", "Epochs": "1", "CalibN": "64", "ErrN": "64", "Seeds": "2",
	"Inits": `[]string{"random_uniform(0.05)", "he_normal"}`, "Focus": "1",
}

var (
	setupOnce sync.Once
	setupErr  error
	kernelBin string // qlab-kernel built for the tests
	smallDir  string // the small MNIST copy
	cacheDir  string // the model cache every notebook run of the tests shares ($QLAB_CACHE_DIR)
)

// maxRSSKB bounds the peak resident memory of one headless notebook run.
const maxRSSKB = 600 << 10

// reusers lists, for the notebooks that train nothing of their own, the
// notebooks whose trained models they load from the model cache.
var reusers = map[string][]string{
	"03-ptq.ipynb":         {"02-training.ipynb"},
	"05-activations.ipynb": {"02-training.ipynb"},
	"06-layer-error.ipynb": {"02-training.ipynb", "04-weights.ipynb"},
}

// setup builds qlab-kernel and writes a small IDX copy of MNIST, once.
func setup(t *testing.T) {
	t.Helper()
	setupOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qlab-notebooks-test")
		if err != nil {
			setupErr = err
			return
		}
		kernelBin = filepath.Join(dir, "qlab-kernel")
		b, err := exec.Command("go", "build", "-o", kernelBin, "github.com/qlab-dev/qlab/kernel/cmd/qlab-kernel").CombinedOutput()
		if err != nil {
			setupErr = fmt.Errorf("go build qlab-kernel: %v\n%s", err, b)
			return
		}
		smallDir = filepath.Join(dir, "mnist")
		cacheDir = filepath.Join(dir, "models")
		setupErr = writeSmallMNIST(smallDir, 256, 128)
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// writeSmallMNIST copies the first nTrain and nTest records of the embedded
// MNIST IDX files into dir, uncompressed, with the counts rewritten.
func writeSmallMNIST(dir string, nTrain, nTest int) error {
	src, err := data.MNISTDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, name := range data.IDXNames {
		n := nTrain
		if i >= 2 {
			n = nTest
		}
		f, err := os.Open(filepath.Join(src, name+".gz"))
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return err
		}
		raw, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			return err
		}
		// IDX: magic (its last byte is the number of dimensions), then one
		// big-endian uint32 per dimension, then the records.
		dims := int(raw[3])
		record := 1
		for d := 1; d < dims; d++ {
			record *= int(binary.BigEndian.Uint32(raw[4+4*d:]))
		}
		head := 4 + 4*dims
		out := append([]byte(nil), raw[:head+n*record]...)
		binary.BigEndian.PutUint32(out[4:], uint32(n))
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// overridesFor returns the test overrides the notebook's parameters cell
// declares, and the data directory.
func overridesFor(t *testing.T, path string) map[string]string {
	t.Helper()
	nb, err := notebook.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var params string
	for _, c := range nb.Cells {
		if c.Type == notebook.Code && c.HasTag(notebook.TagParameters) {
			params = c.Source
			break
		}
	}
	out := map[string]string{}
	all := map[string]string{"DataDir": smallDir}
	for k, v := range testOverrides {
		all[k] = v
	}
	for k, v := range all {
		if regexp.MustCompile(`(?m)^\s*` + k + `\s*=`).MatchString(params) {
			out[k] = v
		}
	}
	return out
}

// savedFigures lists the names the notebook saves figures under.
func savedFigures(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`Save\(FiguresDir, \\"([^"\\]+)\\"`).FindAllSubmatch(b, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		t.Fatalf("%s saves no figure", path)
	}
	return names
}

// checkFigures checks that every figure the notebook saves exists, non-empty,
// as PNG, SVG and PDF under dir/figures.
func checkFigures(t *testing.T, path, dir string) {
	t.Helper()
	for _, name := range savedFigures(t, path) {
		for _, ext := range []string{"png", "svg", "pdf"} {
			st, err := os.Stat(filepath.Join(dir, "figures", name+"."+ext))
			if err != nil || st.Size() == 0 {
				t.Errorf("%s: figure %s.%s missing or empty (%v)", path, name, ext, err)
			}
		}
	}
}

// TestHeadless runs every notebook with `qlab-kernel run`, as the README's
// headless command does, and checks the executed notebook and its figures,
// the peak memory of the run, and that notebooks 3, 5 and 6 train nothing
// when the notebooks that trained their networks ran before them (the runs
// share one model cache). Under -short only the first notebook (no
// training) runs.
func TestHeadless(t *testing.T) {
	setup(t)
	ran := map[string]bool{}
	for _, path := range notebookPaths(t) {
		t.Run(path, func(t *testing.T) {
			if testing.Short() && path != wantNotebooks[0] {
				t.Skip("trains networks; -short runs only the first notebook")
			}
			abs, _ := filepath.Abs(path)
			dir := t.TempDir()
			args := []string{"run", abs, "--out", filepath.Join(dir, "out")}
			for k, v := range overridesFor(t, path) {
				args = append(args, "--param", k+"="+v)
			}
			cmd := exec.Command(kernelBin, args...)
			cmd.Dir, cmd.Env = dir, append(os.Environ(), "QLAB_CACHE_DIR="+cacheDir)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("qlab-kernel %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			if rss, ok := maxRSS(cmd.ProcessState); ok && rss > maxRSSKB {
				t.Errorf("%s: peak RSS %d MB; want at most %d MB", path, rss>>10, maxRSSKB>>10)
			}
			nb, err := notebook.ReadFile(filepath.Join(dir, "out", filepath.Base(path)))
			if err != nil {
				t.Fatal(err)
			}
			if n := countPNG(nb); n == 0 {
				t.Errorf("%s: executed notebook has no image/png output", path)
			}
			checkFigures(t, path, dir)
			trained := trainedModels(nb)
			if producers, ok := reusers[path]; ok && allRan(ran, producers) && len(trained) > 0 {
				t.Errorf("%s trained %v after %v ran; want every network loaded from the model cache", path, trained, producers)
			}
			ran[path] = true
		})
	}
}

// trainedModels returns the lines in which qlab/study reports a model it
// trained (rather than loaded from the cache) in an executed notebook.
func trainedModels(nb *notebook.Notebook) []string {
	var out []string
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			for _, line := range strings.Split(o.Text, "\n") {
				if strings.HasPrefix(line, "study: ") && strings.Contains(line, ": trained") {
					out = append(out, line)
				}
			}
		}
	}
	return out
}

func allRan(ran map[string]bool, paths []string) bool {
	for _, p := range paths {
		if !ran[p] {
			return false
		}
	}
	return true
}

func countPNG(nb *notebook.Notebook) int {
	n := 0
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if _, ok := o.Data["image/png"]; ok {
				n++
			}
		}
	}
	return n
}

// TestNBClient runs every notebook through nbclient against the kernelspec
// `qlab-kernel install --prefix` writes, as JupyterLab and nbconvert would,
// with the test overrides injected as `qlab-kernel run --param` does.
func TestNBClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter and the kernel once per notebook")
	}
	py := testenv.Python(t, "python3-nbclient", "nbclient", "nbformat")
	setup(t)
	env := testenv.JupyterEnv(t, kernelBin)
	for _, path := range notebookPaths(t) {
		t.Run(path, func(t *testing.T) {
			nb, err := notebook.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := notebook.InjectParameters(nb, overridesFor(t, path)); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			in := filepath.Join(dir, filepath.Base(path))
			if err := notebook.WriteFile(in, nb); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, "-c", nbclientScript, in)
			cmd.Env, cmd.Dir = append(env, "QLAB_CACHE_DIR="+cacheDir), dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("nbclient %s: %v\n%s\n%s", path, err, out, stderr.Bytes())
			}
			var got struct{ PNG, Errors int }
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("nbclient output %q: %v", out, err)
			}
			if got.PNG == 0 || got.Errors != 0 {
				t.Errorf("%s through nbclient: %d image/png outputs, %d errors; want some images and no errors", path, got.PNG, got.Errors)
			}
			checkFigures(t, path, dir)
		})
	}
}

// nbclientScript executes a notebook in its own directory, validates the
// result against the nbformat schema and prints what it produced.
const nbclientScript = `import json, os, sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, kernel_name="qlab", timeout=600, resources={"metadata": {"path": os.path.dirname(path)}}).execute()
nbformat.validate(nb)
outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
print(json.dumps({"PNG": sum("image/png" in o.get("data", {}) for o in outs),
                  "Errors": sum(o.output_type == "error" for o in outs)}))`

// TestInstallScript runs docker/install.sh outside Docker, with the test's
// kernel binary, into temporary directories: the kernelspec, the notebooks
// and the MNIST files must land where the Dockerfile expects them.
func TestInstallScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash", "bash")
	}
	setup(t)
	dir := t.TempDir()
	prefix, nbs, mnist := filepath.Join(dir, "prefix"), filepath.Join(dir, "notebooks"), filepath.Join(dir, "mnist")
	cmd := exec.Command("bash", filepath.Join("..", "docker", "install.sh"), "--kernel", kernelBin,
		"--prefix", prefix, "--notebooks", nbs, "--mnist", mnist)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(prefix, "share", "jupyter", "kernels", "qlab", "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Argv     []string `json:"argv"`
		Language string   `json:"language"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Argv) == 0 || spec.Argv[0] != kernelBin || spec.Language != "go" {
		t.Errorf("kernel.json argv %v language %q; want argv[0] %s, language go", spec.Argv, spec.Language, kernelBin)
	}
	for _, name := range wantNotebooks {
		if _, err := os.Stat(filepath.Join(nbs, name)); err != nil {
			t.Errorf("notebook not installed: %v", err)
		}
	}
	train, test, err := data.MNISTFrom(mnist)
	if err != nil {
		t.Fatalf("installed MNIST: %v", err)
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Errorf("installed MNIST has %d/%d images; want 60000/10000", train.Len(), test.Len())
	}
}

// TestInstallScriptCIFAR10 runs install.sh's --cifar10 step (what the image's
// FETCH_CIFAR10=1 build argument does) against a local server holding a
// small archive in the official layout, and reads the result back.
func TestInstallScriptCIFAR10(t *testing.T) {
	setup(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i, name := range data.CIFAR10Files {
		body := []byte(strings.Join(data.CIFAR10Classes, "\n") + "\n")
		if strings.HasSuffix(name, ".bin") {
			body = nil
			for r := 0; r < 2; r++ { // two records per batch: a label byte, 3x32x32 pixels
				rec := make([]byte, 3073)
				rec[0] = byte((i + r) % 10)
				for p := 1; p < len(rec); p++ {
					rec[p] = byte(p + i)
				}
				body = append(body, rec...)
			}
		}
		hdr := &tar.Header{Name: "cifar-10-batches-bin/" + name, Mode: 0o644, Size: int64(len(body))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(archive) }))
	defer srv.Close()
	sum := sha256.Sum256(archive)

	dir := t.TempDir()
	cifar := filepath.Join(dir, "cifar10")
	cmd := exec.Command("bash", filepath.Join("..", "docker", "install.sh"), "--kernel", kernelBin,
		"--prefix", filepath.Join(dir, "prefix"), "--cifar10", cifar)
	cmd.Env = append(os.Environ(), "QLAB_CIFAR10_URL="+srv.URL+"/cifar-10-binary.tar.gz",
		"QLAB_CIFAR10_SHA256="+hex.EncodeToString(sum[:]))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh --cifar10: %v\n%s", err, b)
	}
	train, test, err := data.CIFAR10(cifar)
	if err != nil {
		t.Fatalf("installed CIFAR-10: %v", err)
	}
	if train.Len() != 10 || test.Len() != 2 {
		t.Errorf("installed CIFAR-10 has %d/%d images; want 10/2", train.Len(), test.Len())
	}
}
