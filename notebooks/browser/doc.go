// Package browser holds no code: its test is the real-browser check of the
// qlab kernel. It builds qlab-kernel, installs its kernelspec in a temporary
// JUPYTER_PATH, starts Debian's classic Jupyter Notebook server on loopback,
// and has run.mjs (playwright-core driving Debian's headless Chromium) open
// testdata/smoke.ipynb, run every cell from the Cell menu and report what the
// page shows; the test then asserts that the training progress bar and the
// figures (SVG and PNG) are on the page and saves a screenshot.
//
// TestLabInChromium does the same in a real JupyterLab: notebooks/lab's
// JupyterLab 3.6 (built from its npm lockfile with webpack, served by
// Debian's jupyterlab_server), driven by lab.mjs through the UI. It checks
// the launcher's "Go (qlab)" card and logo, opens every notebook from the
// file browser and runs it from the Run menu (figures decoded as images,
// progress bars updated in place, no errors), asks for Tab completion and
// Shift-Tab help in a new notebook, interrupts a long training cell from
// the toolbar (the kernel's reply within a second, the variables kept), and
// drags notebook 04's widget slider (the figure changes, the next cell reads
// the new value in Go). Its screenshots go to $QLAB_ARTIFACTS/browser/lab;
// it needs `npm ci && npm run build` in notebooks/lab.
//
// Its boundary: the browser and the Notebook and Lab frontends. The kernel protocol is
// tested in kernel/jupyter and kernel/cmd/qlab-kernel/conformance, the
// display bundles in qlab/display.
//
// Outside tools: node (18 or newer), chromium and jupyter-notebook from
// Debian, and playwright-core installed here with `npm ci`. Locally a missing
// one skips the test; with QLAB_REQUIRE_EXTERNAL=1 (CI) it fails. The
// screenshot, the driver's JSON report and the server log go to
// $QLAB_ARTIFACTS/browser when QLAB_ARTIFACTS is set, else to a temporary
// directory removed after the test.
package browser
