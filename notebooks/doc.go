// Package notebooks holds the study's Jupyter notebooks (01-networks.ipynb …
// 07-ablation.ipynb), one per step of the Yun & Wong initialization
// ablation, and 08-bring-your-own.ipynb, the same layerwise analysis of a
// network trained in PyTorch, and 09-ptq-toolbox.ipynb, which asks whether
// cross-layer equalization, bias correction and AdaRound erase the
// initializer effect, written in Go for the qlab kernel. The package has no code of its
// own: its tests check that every notebook is committed clean (valid
// nbformat 4, outputs stripped, a first code cell tagged "parameters", no
// code cell longer than a screen), run every notebook headless through
// `qlab-kernel run` and through nbclient against the installed kernelspec
// with small parameter overrides (sharing one model cache, so the notebooks
// that reuse trained networks must train nothing, and bounding each run's
// peak memory), check the figures they export, and run docker/install.sh
// into a temporary prefix. TestNoSharedFunctions and TestCodeBudget keep the
// notebooks the study rather than its scaffolding: no function defined in
// two notebooks, at most 500 code lines outside the parameters cells, at
// most 10% of them in cells identical to another notebook's.
//
// Boundary: the notebooks call the qlab library (qlab/study for what they
// share) and the kernel's cell package; they hold no analysis code of their
// own beyond loops that arrange results for figures (heavy work stays in
// compiled qlab calls).
package notebooks
