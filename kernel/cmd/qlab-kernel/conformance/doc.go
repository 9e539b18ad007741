// Package conformance holds no code: its tests build qlab-kernel, install
// the kernelspec in a temporary JUPYTER_PATH and drive it with Jupyter's own
// tools — the official conformance suite jupyter_kernel_test (run on
// kernel/testdata/test_qlab_kernel.py) and nbclient, which executes
// notebooks as JupyterLab and nbconvert do. They live apart from the
// command's package so that each package's tests stay well under a minute.
package conformance
