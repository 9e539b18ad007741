// Command qlab-kernel is qlab's Jupyter kernel for Go: it installs its
// kernelspec, serves the Jupyter protocol for a frontend, and runs notebooks
// headless.
//
// Usage:
//
//	qlab-kernel install [--user | --prefix DIR] [--name NAME] [--display-name TEXT]
//	qlab-kernel kernel CONNECTION_FILE
//	qlab-kernel CONNECTION_FILE
//	qlab-kernel run NOTEBOOK.ipynb... [--out DIR] [--param key=value]... [--timeout D]
//	qlab-kernel version
//
// install writes the kernelspec NAME (default qlab) into the user's Jupyter
// data directory (the default, or --user) or into DIR/share/jupyter/kernels
// (--prefix, e.g. a virtualenv or a temporary JUPYTER_PATH). Its argv runs
// this binary by absolute path, so reinstall after moving it.
//
// run executes each notebook's code cells in order and writes the executed
// notebook to DIR/NAME.ipynb (--out) or back over the input. --param
// overrides the cell tagged "parameters" papermill-style; values are Go
// expressions, string parameters may be given unquoted. --timeout bounds
// each cell (e.g. 10m). The first failing cell stops its notebook; run
// exits 1 naming each failed notebook and cell, after writing the notebook
// with the outputs so far.
//
// kernel runs as a supervisor process holding the sockets and an evaluator
// process running the cells (qlab-kernel evaluator, started by kernel);
// when the evaluator dies of a fatal runtime error the supervisor reports it
// on the cell and starts a new one (see package kernel's docs).
//
// The kernel stops a running cell on interrupt_request (the kernelspec's
// interrupt_mode is "message") and on SIGINT, which the supervisor passes
// on; SIGTERM shuts it down.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

const usage = `usage:
  qlab-kernel install [--user | --prefix DIR] [--name NAME] [--display-name TEXT]
  qlab-kernel kernel CONNECTION_FILE
  qlab-kernel run NOTEBOOK.ipynb... [--out DIR] [--param key=value]... [--timeout D]
  qlab-kernel version
`

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "install":
		return cmdInstall(args[1:])
	case "kernel":
		if len(args) != 2 {
			fmt.Fprint(os.Stderr, "qlab-kernel kernel: want one connection file\n"+usage)
			return 2
		}
		return cmdKernel(args[1])
	case "evaluator":
		// Started by "kernel"; not for people.
		if len(args) != 2 {
			fmt.Fprint(os.Stderr, "qlab-kernel evaluator: want one connection file\n")
			return 2
		}
		return cmdEvaluator(args[1])
	case "run":
		return cmdRun(args[1:])
	case "version", "--version", "-version":
		fmt.Printf("qlab-kernel %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Print(usage)
		return 0
	}
	if len(args) == 1 {
		if _, err := os.Stat(args[0]); err == nil {
			return cmdKernel(args[0])
		}
	}
	fmt.Fprintf(os.Stderr, "qlab-kernel: unknown command %q\n%s", args[0], usage)
	return 2
}

// version is the main module's version, or its VCS revision for a
// development build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
