// Package browser holds no code: its test is the real-browser check of the
// qlab kernel. It builds qlab-kernel, installs its kernelspec in a temporary
// JUPYTER_PATH, starts Debian's classic Jupyter Notebook server on loopback,
// and has run.mjs (playwright-core driving Debian's headless Chromium) open
// testdata/smoke.ipynb, run every cell from the Cell menu and report what the
// page shows; the test then asserts that the training progress bar and the
// figures (SVG and PNG) are on the page and saves a screenshot.
//
// Its boundary: the browser and the Notebook frontend. The kernel protocol is
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
