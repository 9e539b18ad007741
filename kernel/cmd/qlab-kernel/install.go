package main

import (
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

//go:generate sh -c "cd logo && go run gen.go"

//go:embed logo/logo-32x32.png
var logo32 []byte

//go:embed logo/logo-64x64.png
var logo64 []byte

// kernelSpec is a Jupyter kernelspec's kernel.json.
type kernelSpec struct {
	Argv          []string       `json:"argv"`
	DisplayName   string         `json:"display_name"`
	Language      string         `json:"language"`
	InterruptMode string         `json:"interrupt_mode"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}

func cmdInstall(args []string) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	user := fs.Bool("user", false, "install into the user's Jupyter data directory (the default)")
	prefix := fs.String("prefix", "", "install into `DIR`/share/jupyter/kernels")
	name := fs.String("name", "qlab", "kernelspec `NAME`")
	display := fs.String("display-name", "Go (qlab)", "name frontends show")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*user && *prefix != "") {
		fmt.Fprintln(os.Stderr, "qlab-kernel install: --user and --prefix exclude each other; no arguments")
		return 2
	}
	dir, err := kernelsDir(*prefix)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel install: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel install: locating this binary: %v\n", err)
		return 1
	}
	dest, err := install(filepath.Join(dir, *name), exe, *display)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel install: %v\n", err)
		return 1
	}
	fmt.Printf("installed kernelspec %s in %s\n", *name, dest)
	return 0
}

// kernelsDir is where kernelspecs go: PREFIX/share/jupyter/kernels, or the
// user's Jupyter data directory as jupyter_core computes it.
func kernelsDir(prefix string) (string, error) {
	if prefix != "" {
		abs, err := filepath.Abs(prefix)
		if err != nil {
			return "", err
		}
		return filepath.Join(abs, "share", "jupyter", "kernels"), nil
	}
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Join(d, "kernels"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter", "kernels"), nil
	case "windows":
		if d := os.Getenv("APPDATA"); d != "" {
			return filepath.Join(d, "jupyter", "kernels"), nil
		}
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "jupyter", "kernels"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter", "kernels"), nil
}

// install writes kernel.json and the logos into dir.
func install(dir, exe, displayName string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	spec := kernelSpec{
		Argv:          []string{exe, "kernel", "{connection_file}"},
		DisplayName:   displayName,
		Language:      "go",
		InterruptMode: "message",
		Metadata:      map[string]any{"debugger": false},
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{"kernel.json": append(b, '\n'), "logo-32x32.png": logo32, "logo-64x64.png": logo64} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
