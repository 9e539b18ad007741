//go:build linux

package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/internal/testenv"
)

// labNotebooks narrows TestLabInChromium to some notebooks while working on
// one: go test -run Lab -lab.notebooks 04-weights.ipynb.
var labNotebooks = flag.String("lab.notebooks", "", "comma-separated notebooks of ../ for TestLabInChromium (default all)")

// widgetNotebook is the notebook whose slider TestLabInChromium moves: its
// widget cell's bit-width slider, with the figure below it and the next
// cell reading "LAYER at BITS bits" in Go.
const widgetNotebook = "04-weights.ipynb"

// Bounds on TestLabInChromium's steps: failure bounds, not expectations.
// Running the seven notebooks is most of it (about 4 minutes on an idle
// 2-core machine, see the closing report of the Lab work).
const (
	labServerTimeout = 60 * time.Second
	labDriverTimeout = 20 * time.Minute
	// interruptBound is how soon after the toolbar click the kernel must
	// have ended the training cell (its execute_reply's date);
	// interruptShown how soon the page must show it stopped, which adds
	// the Lab server's relaying (up to 3.7 s seen under a load average of
	// 20 on 2 cores).
	interruptBound = time.Second
	interruptShown = 10 * time.Second
)

// labReport is what lab.mjs prints.
type labReport struct {
	Phase     string         `json:"phase"`
	TimingsMS map[string]int `json:"timings_ms"`
	Launcher  []struct {
		Category        string `json:"category"`
		Label           string `json:"label"`
		ImgSrc          string `json:"img_src"`
		ImgDecoded      bool   `json:"img_decoded"`
		ImgNaturalWidth int    `json:"img_natural_width"`
	} `json:"launcher"`
	Notebooks  []labNotebook `json:"notebooks"`
	Completion []string      `json:"completion"`
	Tooltip    string        `json:"tooltip"`
	Interrupt  *struct {
		StoppedMS int `json:"stopped_ms"`
		// ReplyMS is when the kernel sent the cell's execute_reply, after
		// the click; ReplyReceivedMS when the page had it.
		ReplyMS         int    `json:"reply_ms"`
		ReplyReceivedMS int    `json:"reply_received_ms"`
		ReplyStatus     string `json:"reply_status"`
		Output          string `json:"output"`
		After           string `json:"after"`
	} `json:"interrupt"`
	Widgets *struct {
		BeforeLen int    `json:"before_len"`
		AfterLen  int    `json:"after_len"`
		Changed   bool   `json:"changed"`
		ChangeMS  int    `json:"change_ms"`
		Readout   string `json:"readout"`
		GoValue   string `json:"go_value"`
	} `json:"widgets"`
	Blocked       []string `json:"blocked"`
	ConsoleErrors []string `json:"console_errors"`
	PageErrors    []string `json:"page_errors"`
	Screenshots   []string `json:"screenshots"`
}

type labNotebook struct {
	Name              string `json:"name"`
	KernelDisplayName string `json:"kernel_display_name"`
	Cells             []struct {
		ExecutionCount *int     `json:"execution_count"`
		OutputTypes    []string `json:"output_types"`
		Figures        int      `json:"figures"`
		Errors         []string `json:"errors"`
	} `json:"cells"`
	Images []struct {
		Src           string `json:"src"`
		Decoded       bool   `json:"decoded"`
		NaturalWidth  int    `json:"natural_width"`
		NaturalHeight int    `json:"natural_height"`
	} `json:"images"`
	WidgetImages int `json:"widget_images"`
	// Progress has one entry per progress bar (a code cell and a title).
	Progress []struct {
		Cell      int      `json:"cell"`
		Title     string   `json:"title"`
		MaxSame   int      `json:"max_same"`
		Values    []string `json:"values"`
		FinalSame int      `json:"final_same"`
	} `json:"progress"`
}

// TestLabInChromium runs the notebooks in qlab's JupyterLab (notebooks/lab,
// JupyterLab 3.6 built with webpack and served by Debian's jupyterlab_server)
// in headless Chromium, through the UI: see lab.mjs for the steps and
// checkLabReport for what must hold.
func TestLabInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every notebook in JupyterLab in Chromium (minutes); skipped with -short")
	}
	tl := lookTools(t)
	python := testenv.Python(t, "python3-jupyterlab-server python3-jupyter-server", "jupyterlab_server", "jupyter_server")
	labDir, err := filepath.Abs(filepath.Join("..", "lab"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(labDir, "build", "bundle.js")); err != nil {
		testenv.Missing(t, "the JupyterLab build in notebooks/lab/build", "cd notebooks/lab && npm ci && npm run build")
	}
	notebooks := labNotebookList(t)
	work := t.TempDir()
	artifacts := labArtifactDir(t)
	t.Cleanup(func() { reapStrays(t, work) })

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	bin, err := buildKernel(ctx, work)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	srv := startLab(t, python, labDir, work, artifacts, notebooks)
	// The first requests of each kind can take seconds on a loaded machine
	// (get gives up after 5 s): retry them for a while.
	for _, path := range []string{"lab", "api/kernelspecs", "kernelspecs/qlab/logo-64x64.png"} {
		var err error
		for deadline := time.Now().Add(labServerTimeout); ; {
			if _, err = get(srv, path); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("the Lab server: %v", err)
		}
	}
	checkKernelspec(t, srv, bin)
	ready := time.Now()
	rep, driverLog := runLabDriver(t, tl, srv, work, artifacts, notebooks)
	t.Logf("kernel build %v, Lab server start %v, browser run %v", built.Round(time.Millisecond),
		ready.Sub(start.Add(built)).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	if err := os.WriteFile(filepath.Join(artifacts, "lab-driver.log"), driverLog, 0o644); err != nil {
		t.Errorf("saving the driver's output: %v", err)
	}
	t.Logf("screenshots, driver report and server log in %s", artifacts)
	if rep == nil {
		t.Fatalf("lab.mjs gave no report; its output:\n%s", driverLog)
	}
	checkLabReport(t, rep, notebooks)
	for _, s := range rep.Screenshots {
		if _, err := os.Stat(s); err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
}

// labNotebookList is -lab.notebooks or every notebook in notebooks/.
func labNotebookList(t *testing.T) []string {
	t.Helper()
	if *labNotebooks != "" {
		return strings.Split(*labNotebooks, ",")
	}
	paths, err := filepath.Glob(filepath.Join("..", "*.ipynb"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks in ..: %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

func labArtifactDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("QLAB_ARTIFACTS") == "" {
		return t.TempDir()
	}
	dir := filepath.Join(artifactDir(t), "lab")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startLab starts notebooks/lab/main.py on a free loopback port with a
// fresh token, serving copies of the notebooks (and their images) in
// work/notebooks and seeing only the kernelspec under work/prefix, logging
// to artifacts/lab-server.log. It stops the server when the test ends.
func startLab(t *testing.T, python, labDir, work, artifacts string, notebooks []string) server {
	t.Helper()
	nbDir := filepath.Join(work, "notebooks")
	if err := os.MkdirAll(filepath.Join(nbDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	images, _ := filepath.Glob(filepath.Join("..", "images", "*"))
	for _, src := range append(images, prefixAll("..", notebooks)...) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel("..", src)
		if err := os.WriteFile(filepath.Join(nbDir, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	token := randomToken(t)
	args := []string{filepath.Join(labDir, "main.py"),
		"--ServerApp.ip=127.0.0.1", "--ServerApp.port=" + strconv.Itoa(port), "--ServerApp.port_retries=0",
		"--ServerApp.token=" + token, "--ServerApp.root_dir=" + nbDir, "--ServerApp.open_browser=False",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	logPath := filepath.Join(artifacts, "lab-server.log")
	exited, waitErr := startJupyterServer(t, "the Lab server", exec.Command(python, args...), work, logPath,
		"XDG_CACHE_HOME="+cacheHome(work))
	srv := server{url: fmt.Sprintf("http://127.0.0.1:%d/", port), token: token}
	deadline := time.Now().Add(labServerTimeout)
	for {
		select {
		case <-exited:
			t.Fatalf("the Lab server exited before serving: %v\nserver log:\n%s", *waitErr, tail(logPath))
		default:
		}
		_, err := get(srv, "api/status")
		if err == nil {
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Lab server on %s is not serving after %v: %v\nserver log:\n%s", srv.url, labServerTimeout, err, tail(logPath))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cacheHome keeps the user's cache (trained models the notebooks reuse)
// when there is one, so the test measures the Lab rather than training.
func cacheHome(work string) string {
	if d, err := os.UserCacheDir(); err == nil {
		return d
	}
	return filepath.Join(work, "cache")
}

func prefixAll(dir string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

func runLabDriver(t *testing.T, tl tools, srv server, work, artifacts string, notebooks []string) (*labReport, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), labDriverTimeout+10*time.Second)
	defer cancel()
	profile := filepath.Join(work, "chromium-profile-lab")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	driver := filepath.Join(filepath.Dir(tl.driver), "lab.mjs")
	cmd := exec.CommandContext(ctx, tl.node, driver,
		"--url", srv.url, "--token", srv.token, "--notebooks", strings.Join(notebooks, ","),
		"--chromium", tl.chromium, "--profile", profile, "--shots", artifacts,
		"--widgets", widgetNotebook,
		"--timeout-ms", strconv.FormatInt(labDriverTimeout.Milliseconds(), 10))
	cmd.Dir = filepath.Dir(driver)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	all := append(append(stdout.Bytes(), "\n--- stderr ---\n"...), stderr.Bytes()...)
	if err != nil {
		t.Errorf("lab.mjs: %v\n%s", err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var rep labReport
	if uerr := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); uerr != nil {
		return nil, all
	}
	t.Logf("driver timings (ms since launch): %v", rep.TimingsMS)
	return &rep, all
}

// checkLabReport asserts what the page showed.
func checkLabReport(t *testing.T, r *labReport, notebooks []string) {
	t.Helper()
	if r.Phase != "done" {
		t.Errorf("driver stopped in phase %q; want done", r.Phase)
	}
	for _, u := range r.Blocked {
		t.Errorf("the page asked for %s; want loopback only", u)
	}
	for _, e := range r.PageErrors {
		t.Errorf("uncaught error on the page: %s", e)
	}
	for _, e := range r.ConsoleErrors {
		t.Logf("browser console error (not a failure): %s", e)
	}

	// The launcher: a notebook card labelled with the kernelspec's display
	// name, showing the kernel's own 64x64 logo.
	found := false
	for _, c := range r.Launcher {
		if c.Category == "Notebook" && c.Label == kernelName {
			found = true
			if c.ImgSrc != "/kernelspecs/qlab/logo-64x64.png" || !c.ImgDecoded || c.ImgNaturalWidth != 64 {
				t.Errorf("launcher card %q: logo %q decoded %v, %d px wide; want /kernelspecs/qlab/logo-64x64.png decoded, 64 px",
					c.Label, c.ImgSrc, c.ImgDecoded, c.ImgNaturalWidth)
			}
		}
	}
	if !found {
		t.Errorf("the launcher has no notebook card %q; cards: %+v", kernelName, r.Launcher)
	}

	if len(r.Notebooks) != len(notebooks) {
		t.Errorf("ran %d notebooks; want %d", len(r.Notebooks), len(notebooks))
	}
	bars := 0
	for _, nb := range r.Notebooks {
		checkLabNotebook(t, nb)
		bars += len(nb.Progress)
	}
	if len(r.Notebooks) == len(notebooks) && bars == 0 && len(notebooks) > 1 {
		t.Errorf("no notebook showed a progress bar; want the training ones to")
	}

	// Completion after "arch." lists the package's exported names.
	for _, want := range []string{"VGGSpec", "BlockKind"} {
		if !contains(r.Completion, want) {
			t.Errorf("Tab completion after %q offers %q; want it to include %q", "arch.", r.Completion, want)
		}
	}
	// Shift-Tab on arch.VGGSpec shows its declaration and doc comment.
	for _, want := range []string{"type VGGSpec struct", "VGGSpec"} {
		if !strings.Contains(r.Tooltip, want) {
			t.Errorf("Shift-Tab help on arch.VGGSpec reads %q; want it to contain %q", r.Tooltip, want)
		}
	}
	if i := r.Interrupt; i == nil {
		t.Errorf("no interrupt result")
	} else {
		// The kernel's part: its execute_reply (dated by the kernel) within
		// interruptBound of the click. The page's view of it comes later
		// by however long two busy servers take to relay the request and
		// the reply, so that is bounded loosely.
		switch {
		case i.ReplyMS < 0:
			t.Errorf("the page saw no execute_reply for the interrupted cell")
		case time.Duration(i.ReplyMS)*time.Millisecond > interruptBound:
			t.Errorf("the kernel ended the training cell %d ms after the toolbar's interrupt; want within %v", i.ReplyMS, interruptBound)
		}
		if i.ReplyStatus != "error" {
			t.Errorf("the interrupted cell's execute_reply status %q; want error", i.ReplyStatus)
		}
		if time.Duration(i.StoppedMS)*time.Millisecond > interruptShown {
			t.Errorf("the page showed the training cell stopped %d ms after the toolbar's interrupt; want within %v", i.StoppedMS, interruptShown)
		}
		if !strings.Contains(i.Output, "Interrupted") && !strings.Contains(i.Output, "context canceled") {
			t.Errorf("the interrupted cell shows %q; want an interruption", i.Output)
		}
		if !strings.Contains(i.After, "kept=42") {
			t.Errorf("after the interrupt a cell reading kept shows %q; want %q", i.After, "kept=42")
		}
		t.Logf("interrupt: the kernel replied %d ms after the click; the page had the reply after %d ms and showed the cell stopped after %d ms",
			i.ReplyMS, i.ReplyReceivedMS, i.StoppedMS)
	}
	if widgetNotebook != "" {
		w := r.Widgets
		switch {
		case w == nil:
			t.Errorf("no widget result for %s", widgetNotebook)
		case !w.Changed:
			t.Errorf("moving the slider in %s left the figure as it was (image %d bytes before, %d after)", widgetNotebook, w.BeforeLen, w.AfterLen)
		case w.Readout == "" || !strings.Contains(w.GoValue, "at "+w.Readout+" bits"):
			t.Errorf("the slider reads %q, the next cell shows %q; want it to read \"at %s bits\"", w.Readout, w.GoValue, w.Readout)
		default:
			t.Logf("widgets: the figure changed %d ms after the slider moved to %s; Go reads %q", w.ChangeMS, w.Readout, w.GoValue)
		}
	}
}

func checkLabNotebook(t *testing.T, nb labNotebook) {
	t.Helper()
	if nb.KernelDisplayName != kernelName {
		t.Errorf("%s: kernel %q; want %q", nb.Name, nb.KernelDisplayName, kernelName)
	}
	figures := 0
	for i, c := range nb.Cells {
		if c.ExecutionCount == nil {
			t.Errorf("%s: code cell %d did not run", nb.Name, i+1)
		}
		for _, e := range c.Errors {
			t.Errorf("%s: code cell %d: %s", nb.Name, i+1, e)
		}
		figures += c.Figures
	}
	if figures == 0 {
		t.Errorf("%s: no figures; want the notebook's figures", nb.Name)
	}
	// Every figure the kernel sent is an image the browser decoded.
	if len(nb.Images) != figures {
		t.Errorf("%s: %d figures sent, %d images on the page; want one image per figure", nb.Name, figures, len(nb.Images))
	}
	for i, img := range nb.Images {
		if !img.Decoded || img.NaturalWidth < 100 || img.NaturalHeight < 100 {
			t.Errorf("%s: image %d (%s...) decoded %v, %dx%d; want a decoded figure", nb.Name, i+1, img.Src, img.Decoded, img.NaturalWidth, img.NaturalHeight)
		}
	}
	// A progress bar is updated in place: several values seen, and never
	// two bars with its title in the cell (a cell training four networks
	// shows four bars, each updated in place).
	for _, p := range nb.Progress {
		if p.MaxSame != 1 || p.FinalSame != 1 {
			t.Errorf("%s: cell %d showed up to %d progress bars titled %q at once, %d at the end; want 1 updated in place",
				nb.Name, p.Cell+1, p.MaxSame, p.Title, p.FinalSame)
		}
		if len(p.Values) < 3 {
			t.Errorf("%s: cell %d's progress bar %q showed %q; want several updates", nb.Name, p.Cell+1, p.Title, p.Values)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
