//go:build linux

package browser_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/internal/testenv"
)

// The notebook the browser runs, and what it must show: train.Fit over 256
// images in batches of 16 for 3 epochs is 48 batches, and gonum plots render
// at display.PlotOptions' default 6x4 inches at 96 DPI.
const (
	notebookName = "smoke.ipynb"
	kernelName   = "Go (qlab)" // qlab-kernel install's default display name
	codeCells    = 3
	batches      = 48
	figW, figH   = 576, 384
)

// Bounds on the test's steps. They are failure bounds, not expectations:
// on a 2-core machine under a load average of 15-20 the browser part took
// 25-35 s and the whole test 50-90 s, most of it building the kernel.
const (
	buildTimeout  = 3 * time.Minute
	serverTimeout = 30 * time.Second
	driverTimeout = 90 * time.Second
	stopTimeout   = 15 * time.Second
)

// report is what run.mjs prints.
type report struct {
	Phase      string         `json:"phase"`
	TimingsMS  map[string]int `json:"timings_ms"`
	KernelName string         `json:"kernel_name"`
	Cells      []struct {
		ExecutionCount any        `json:"execution_count"`
		Outputs        [][]string `json:"outputs"`
		Text           string     `json:"text"`
	} `json:"cells"`
	Progress []struct {
		Value float64 `json:"value"`
		Max   float64 `json:"max"`
		Text  string  `json:"text"`
		Width float64 `json:"width"`
	} `json:"progress"`
	SVG []struct {
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
	} `json:"svg"`
	PNG []struct {
		DataPNG       bool `json:"data_png"`
		Decoded       bool `json:"decoded"`
		NaturalWidth  int  `json:"natural_width"`
		NaturalHeight int  `json:"natural_height"`
	} `json:"png"`
	Errors        []string `json:"errors"`
	Blocked       []string `json:"blocked"`
	ConsoleErrors []string `json:"console_errors"`
	PageErrors    []string `json:"page_errors"`
	Screenshot    string   `json:"screenshot"`
}

// TestNotebookInChromium runs testdata/smoke.ipynb in headless Chromium
// through the classic Notebook UI with the qlab kernel and checks that the
// progress bar and the figures appear.
func TestNotebookInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Jupyter Notebook in Chromium (tens of seconds); skipped with -short")
	}
	tools := lookTools(t)
	work := t.TempDir()
	artifacts := artifactDir(t)
	// Every process this test starts, directly or not, has work in its
	// command line (the kernel binary, the notebook dir, Chromium's
	// profile), so a final sweep can find any that outlived their parent.
	t.Cleanup(func() { reapStrays(t, work) })

	// The server needs the kernel only once a notebook opens, so it starts
	// while the kernel builds.
	start := time.Now()
	type build struct {
		bin string
		err error
		at  time.Time
	}
	built := make(chan build, 1)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	done := make(chan struct{})
	// If the test stops early, the build stops too before work is removed.
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		bin, err := buildKernel(ctx, work)
		built <- build{bin, err, time.Now()}
	}()
	srv := startServer(t, tools.jupyter, work, artifacts)
	served := time.Now()
	b := <-built
	if b.err != nil {
		t.Fatal(b.err)
	}
	checkKernelspec(t, srv, b.bin)
	ready := time.Now()
	rep, driverLog := runDriver(t, tools, srv, work, filepath.Join(artifacts, "notebook.png"))
	t.Logf("build %v and server start %v side by side, browser run %v", b.at.Sub(start).Round(time.Millisecond),
		served.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	if err := os.WriteFile(filepath.Join(artifacts, "driver.log"), driverLog, 0o644); err != nil {
		t.Errorf("saving the driver's output: %v", err)
	}
	t.Logf("screenshot, driver report and server log in %s", artifacts)
	if rep == nil {
		t.Fatalf("run.mjs gave no report; its output:\n%s", driverLog)
	}
	checkReport(t, rep)
	checkScreenshot(t, filepath.Join(artifacts, "notebook.png"))
}

type tools struct {
	node, chromium, jupyter, driver string
}

// lookTools finds the outside tools, skipping (locally) or failing (CI)
// with the install command when one is missing.
func lookTools(t *testing.T) tools {
	t.Helper()
	var tl tools
	tl.node = testenv.Command(t, "node", "apt-get install nodejs npm")
	out, err := exec.Command(tl.node, "--version").Output()
	if err != nil {
		testenv.Missing(t, "a working node ("+err.Error()+")", "apt-get install nodejs")
	}
	if major, ok := nodeMajor(string(out)); !ok || major < 18 {
		testenv.Missing(t, fmt.Sprintf("Node.js 18 or newer (found %q)", strings.TrimSpace(string(out))), "apt-get install nodejs")
	}
	tl.chromium = testenv.Command(t, "chromium", "apt-get install chromium")
	tl.jupyter = testenv.Command(t, "jupyter-notebook", "apt-get install jupyter-notebook")
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		testenv.Missing(t, "playwright-core in notebooks/browser/node_modules", "cd notebooks/browser && npm ci")
	}
	abs, err := filepath.Abs("run.mjs")
	if err != nil {
		t.Fatal(err)
	}
	tl.driver = abs
	return tl
}

var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

// nodeMajor parses `node --version` output such as "v20.20.2".
func nodeMajor(s string) (int, bool) {
	m := nodeVersion.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func TestNodeMajor(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"v20.20.2\n", 20, true},
		{"v18.19.0", 18, true},
		{"20.1.0", 0, false},
		{"", 0, false},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, ok := nodeMajor(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("nodeMajor(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

// artifactDir is $QLAB_ARTIFACTS/browser (kept for CI to collect) or a
// temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("QLAB_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join(root, "browser"))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("QLAB_ARTIFACTS=%q: %v", root, err)
	}
	return dir
}

// buildKernel builds qlab-kernel into work and installs its kernelspec
// under work/prefix. It returns errors rather than failing the test: it runs
// on its own goroutine.
func buildKernel(ctx context.Context, work string) (string, error) {
	bin := filepath.Join(work, "qlab-kernel")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/qlab-dev/qlab/kernel/cmd/qlab-kernel").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build qlab-kernel: %v\n%s", err, b)
	}
	if b, err := exec.CommandContext(ctx, bin, "install", "--prefix", filepath.Join(work, "prefix")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("qlab-kernel install: %v\n%s", err, b)
	}
	return bin, nil
}

type server struct {
	url, token string
}

// startServer starts jupyter-notebook on a free loopback port with a
// fresh token, serving a copy of testdata in work/notebooks and seeing only
// the kernelspec under work/prefix and Debian's system-wide setup, logging
// to artifacts/server.log. It stops the server (which shuts its kernels
// down) when the test ends.
func startServer(t *testing.T, jupyter, work, artifacts string) server {
	t.Helper()
	nbDir := filepath.Join(work, "notebooks")
	if err := os.MkdirAll(nbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	nb, err := os.ReadFile(filepath.Join("testdata", notebookName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nbDir, notebookName), nb, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	token := randomToken(t)
	args := []string{
		"--no-browser", "--NotebookApp.open_browser=False",
		"--ip=127.0.0.1", "--port=" + strconv.Itoa(port), "--port-retries=0",
		"--NotebookApp.token=" + token, "--notebook-dir=" + nbDir,
	}
	if os.Geteuid() == 0 { // CI containers run as root; Notebook refuses without this
		args = append(args, "--allow-root")
	}
	logPath := filepath.Join(artifacts, "server.log")
	exited, waitErr := startJupyterServer(t, "jupyter-notebook", exec.Command(jupyter, args...), work, logPath)

	srv := server{url: fmt.Sprintf("http://127.0.0.1:%d/", port), token: token}
	if err := waitReady(srv, exited, waitErr); err != nil {
		t.Fatalf("jupyter-notebook on %s: %v\nserver log:\n%s", srv.url, err, tail(logPath))
	}
	return srv
}

// checkKernelspec checks that the server sees the kernelspec qlab running
// kernel. The frontend would otherwise offer another kernel and the test
// would fail later with a less clear message. Jupyter reads kernelspecs
// afresh on each request, so installing after the server started is fine.
func checkKernelspec(t *testing.T, srv server, kernel string) {
	t.Helper()
	specs, err := get(srv, "api/kernelspecs")
	if err != nil {
		t.Fatal(err)
	}
	var ks struct {
		Kernelspecs map[string]struct {
			Spec struct {
				Argv []string `json:"argv"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	if err := json.Unmarshal(specs, &ks); err != nil {
		t.Fatalf("api/kernelspecs: %v\n%s", err, specs)
	}
	if got := ks.Kernelspecs["qlab"].Spec.Argv; len(got) == 0 || got[0] != kernel {
		t.Fatalf("kernelspec qlab runs %q; want %s (kernelspecs: %s)", got, kernel, specs)
	}
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds it; --port-retries=0 turns that
// rare race into a clear start-up failure instead of a server on a port
// nobody polls.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func get(srv server, path string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, srv.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+srv.token)
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return buf.Bytes(), nil
}

// waitReady polls the server's status API until it answers, the server
// exits, or serverTimeout passes.
func waitReady(srv server, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(serverTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before serving: %v", *waitErr)
		default:
		}
		if _, last = get(srv, "api/status"); last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not serving after %v: %v", serverTimeout, last)
}

// runDriver runs run.mjs against srv and returns its parsed report (nil
// when it printed none) and its whole output.
func runDriver(t *testing.T, tl tools, srv server, work, screenshot string) (*report, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), driverTimeout+10*time.Second)
	defer cancel()
	profile := filepath.Join(work, "chromium-profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, tl.node, tl.driver,
		"--url", srv.url, "--token", srv.token, "--notebook", notebookName,
		"--chromium", tl.chromium, "--profile", profile, "--screenshot", screenshot,
		"--timeout-ms", strconv.FormatInt(driverTimeout.Milliseconds(), 10))
	cmd.Dir = filepath.Dir(tl.driver)
	// Playwright closes Chromium on SIGTERM; SIGKILL follows after
	// WaitDelay, and reapStrays catches a browser left behind even then.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	all := append(append(stdout.Bytes(), "\n--- stderr ---\n"...), stderr.Bytes()...)
	if err != nil {
		t.Errorf("run.mjs: %v\n%s", err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var rep report
	if uerr := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); uerr != nil {
		return nil, all
	}
	t.Logf("driver timings (ms since launch): %v", rep.TimingsMS)
	return &rep, all
}

// checkReport asserts what the page showed after Run All.
func checkReport(t *testing.T, r *report) {
	if r.Phase != "done" {
		t.Errorf("driver stopped in phase %q; want done", r.Phase)
	}
	if r.KernelName != kernelName {
		t.Errorf("kernel indicator shows %q; want %q", r.KernelName, kernelName)
	}
	for _, u := range r.Blocked {
		t.Errorf("the page asked for %s; want loopback only", u)
	}
	for _, e := range append(r.Errors, r.PageErrors...) {
		t.Errorf("error on the page: %s", e)
	}
	for _, e := range r.ConsoleErrors {
		t.Logf("browser console error (not a failure): %s", e)
	}
	if len(r.Cells) != codeCells {
		t.Fatalf("got %d code cells; want %d", len(r.Cells), codeCells)
	}
	for i, c := range r.Cells {
		// JSON numbers decode as float64; a "*" or null means not run.
		if n, ok := c.ExecutionCount.(float64); !ok || int(n) != i+1 {
			t.Errorf("code cell %d: execution count %v; want %d", i+1, c.ExecutionCount, i+1)
		}
	}
	if !strings.Contains(r.Cells[0].Text, "trained 3 epochs") {
		t.Errorf("training cell shows %q; want it to contain %q", r.Cells[0].Text, "trained 3 epochs")
	}

	// One bar, updated in place to its end: a bar drawn again instead of
	// updated (update_display_data lost) would show as two.
	if len(r.Progress) != 1 {
		t.Errorf("got %d progress bars; want 1", len(r.Progress))
	}
	for _, p := range r.Progress {
		if p.Value != batches || p.Max != batches {
			t.Errorf("progress bar at %v of %v; want %d of %d", p.Value, p.Max, batches, batches)
		}
		for _, want := range []string{"training", "100%", "epoch 3/3"} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("progress bar reads %q; want it to contain %q", p.Text, want)
			}
		}
		if p.Width <= 0 {
			t.Errorf("progress bar is %v px wide; want it visible", p.Width)
		}
	}

	// The plot cell's bundle holds SVG and PNG; the classic Notebook
	// prefers SVG. The PNG-only cell must become a decoded data: image.
	if len(r.SVG) != 1 {
		t.Errorf("got %d SVG figures; want 1", len(r.SVG))
	}
	for _, s := range r.SVG {
		if int(s.Width+0.5) != figW || int(s.Height+0.5) != figH {
			t.Errorf("SVG figure is %vx%v px; want %dx%d", s.Width, s.Height, figW, figH)
		}
	}
	if len(r.PNG) != 1 {
		t.Errorf("got %d PNG figures; want 1", len(r.PNG))
	}
	for _, p := range r.PNG {
		if !p.DataPNG || !p.Decoded {
			t.Errorf("PNG figure: data:image/png source %v, decoded %v; want both", p.DataPNG, p.Decoded)
		}
		if p.NaturalWidth != figW || p.NaturalHeight != figH {
			t.Errorf("PNG figure is %dx%d; want %dx%d", p.NaturalWidth, p.NaturalHeight, figW, figH)
		}
	}
}

// checkScreenshot checks that the screenshot is a PNG of the whole
// notebook with something drawn on it (not one flat colour).
func checkScreenshot(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	// The driver grows the viewport to the notebook; two figures of
	// 384 px and the code above them cannot fit in less than 1200 px.
	if b.Dx() != 1280 || b.Dy() < 1200 {
		t.Errorf("screenshot is %dx%d; want 1280 wide and at least 1200 tall", b.Dx(), b.Dy())
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 16; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("screenshot has %d colours; want a rendered page (at least 16)", len(colours))
	}
}

// stopGroup ends the process group led by pid: SIGTERM (jupyter-notebook
// then shuts its kernels down), and SIGKILL if it has not exited within
// stopTimeout.
func stopGroup(t *testing.T, name string, pid int, exited <-chan struct{}) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("%s stopped in %v", name, time.Since(start).Round(time.Millisecond)) }()
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stopping %s: %v", name, err)
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		t.Errorf("%s did not stop within %v of SIGTERM; killing it", name, stopTimeout)
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// reapStrays fails the test for, and kills, every process still running
// whose command line mentions work: a kernel, server or browser this test
// started that its shutdown left behind.
func reapStrays(t *testing.T, work string) {
	t.Helper()
	// Kernels exit a moment after the server asks them to; allow that.
	var strays map[int]string
	for i := 0; i < 20; i++ {
		strays = processesMentioning(work)
		if len(strays) == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	for pid, cmdline := range strays {
		t.Errorf("process %d outlived the test: %s", pid, cmdline)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) map[int]string {
	found := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return found
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie awaiting its parent
		}
		cmdline := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		if strings.Contains(cmdline, s) {
			found[pid] = cmdline
		}
	}
	return found
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// startJupyterServer starts cmd, a Jupyter server, with its Jupyter paths
// under work and its output in logPath, in its own process group so that
// stopping it also reaches anything it forked (kernels get their own groups
// from jupyter_client and are shut down by the server itself, and found by
// reapStrays otherwise). It is stopped when the test ends. exited closes when
// the server has exited, *waitErr then says how; a closed channel (not a
// sent value) so that every waiter sees it.
func startJupyterServer(t *testing.T, name string, cmd *exec.Cmd, work, logPath string, env ...string) (exited chan struct{}, waitErr *error) {
	t.Helper()
	cmd.Env = append(append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(work, "prefix", "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(work, "jupyter-data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(work, "jupyter-runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(work, "jupyter-config"),
		"IPYTHONDIR="+filepath.Join(work, "ipython"),
	), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	exited = make(chan struct{})
	waitErr = new(error)
	go func() { *waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stopGroup(t, name, cmd.Process.Pid, exited)
		logFile.Close()
	})
	return exited, waitErr
}
