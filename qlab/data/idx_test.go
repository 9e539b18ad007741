package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/internal/testenv"
)

// idxBytes encodes an unsigned-byte IDX array.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

// writeIDXDir writes a tiny IDX dataset: n train and n test images of h x w
// whose pixels are (i+k) mod 256, labels i mod 10.
func writeIDXDir(t *testing.T, n, h, w int, compress bool) string {
	t.Helper()
	dir := t.TempDir()
	img := make([]byte, n*h*w)
	for i := range img {
		img[i] = byte(i)
	}
	lbl := make([]byte, n)
	for i := range lbl {
		lbl[i] = byte(i % 10)
	}
	for i, base := range IDXNames {
		b := idxBytes([]int{n}, lbl)
		if i%2 == 0 {
			b = idxBytes([]int{n, h, w}, img)
		}
		if compress {
			b, base = gz(b), base+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadIDX(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw", true: "gzip"}[compress], func(t *testing.T) {
			dir := writeIDXDir(t, 12, 3, 4, compress)
			train, test, err := MNISTFrom(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []*Dataset{train, test} {
				if err := d.Validate(); err != nil {
					t.Fatal(err)
				}
				if got, want := d.Images.Shape, []int{12, 1, 3, 4}; !equalInts(got, want) {
					t.Fatalf("shape got %v; want %v", got, want)
				}
				if got, want := d.Images.Data[13], float32(13)/255; got != want {
					t.Errorf("pixel 13 got %v; want %v", got, want)
				}
				if got, want := d.Labels[11], 1; got != want {
					t.Errorf("label 11 got %d; want %d", got, want)
				}
			}
			if got, want := train.Name, "MNIST train"; got != want {
				t.Errorf("name got %q; want %q", got, want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIDXCorrupt(t *testing.T) {
	good := idxBytes([]int{4, 2, 2}, make([]byte, 16))
	cases := []struct {
		name    string
		file    int // index into IDXNames
		content []byte
		want    string
	}{
		{"bad magic", 0, append([]byte{1, 0}, good[2:]...), "bad magic number"},
		{"bad type", 0, append([]byte{0, 0, 0x0d}, good[3:]...), "not unsigned byte"},
		{"short header", 0, good[:6], "dimension 0: truncated"},
		{"truncated data", 0, good[:len(good)-3], "need 16 data bytes, found 13"},
		{"trailing", 0, append(append([]byte{}, good...), 7), "trailing bytes"},
		{"truncated gzip", 0, gz(good)[:20], "truncated"},
		{"corrupt gzip", 0, append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xff}, 40)...), "gzip"},
		{"images 2-D", 0, idxBytes([]int{4, 4}, make([]byte, 16)), "want 3 (count, rows, cols)"},
		{"label count", 1, idxBytes([]int{3}, make([]byte, 3)), "holds 4 images but"},
		{"label range", 1, idxBytes([]int{4}, []byte{0, 1, 10, 3}), "label 10 of sample 2"},
		{"huge dims", 0, idxBytes([]int{1 << 20, 1 << 20, 1}, nil), "exceed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, base := range IDXNames {
				b := good
				if i%2 == 1 {
					b = idxBytes([]int{4}, []byte{0, 1, 2, 3})
				}
				if i == c.file {
					b = c.content
				}
				if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := MNISTFrom(dir)
			if err == nil {
				t.Fatalf("got no error; want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want an error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), IDXNames[c.file]) {
				t.Errorf("error %v does not name the file %s", err, IDXNames[c.file])
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, _, err := MNISTFrom(t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "missing train-images-idx3-ubyte") {
			t.Fatalf("got %v; want a missing-file error", err)
		}
	})
}

// TestMNIST reads the real MNIST from the GoMNIST module and checks it
// against the published counts (LeCun et al.: 60,000 + 10,000 images; the
// per-digit training counts are those every MNIST loader reports).
func TestMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 70,000 images")
	}
	train, test, err := MNIST()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := train.Images.Shape, []int{60000, 1, 28, 28}; !equalInts(got, want) {
		t.Fatalf("train shape got %v; want %v", got, want)
	}
	if got, want := test.Images.Shape, []int{10000, 1, 28, 28}; !equalInts(got, want) {
		t.Fatalf("test shape got %v; want %v", got, want)
	}
	counts := make([]int, 10)
	for _, l := range train.Labels {
		counts[l]++
	}
	if want := []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}; !equalInts(counts, want) {
		t.Errorf("train label counts got %v; want %v", counts, want)
	}
	mean, std := train.Stats()
	// The widely quoted MNIST normalisation constants (0.1307, 0.3081).
	if d := mean[0] - 0.1307; d > 1e-4 || d < -1e-4 {
		t.Errorf("train mean got %v; want 0.1307", mean[0])
	}
	if d := std[0] - 0.3081; d > 1e-4 || d < -1e-4 {
		t.Errorf("train std got %v; want 0.3081", std[0])
	}
}

func TestMNISTDir(t *testing.T) {
	t.Run("env", func(t *testing.T) {
		dir := writeIDXDir(t, 2, 2, 2, true)
		t.Setenv(MNISTDirEnv, dir)
		if got, err := MNISTDir(); err != nil || got != dir {
			t.Fatalf("got %q, %v; want %q", got, err, dir)
		}
	})
	t.Run("env wrong", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(MNISTDirEnv, dir)
		if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("got %v; want an error naming %s", err, dir)
		}
	})
	t.Run("module cache", func(t *testing.T) {
		root := t.TempDir()
		data := filepath.Join(root, "github.com", "petar", "!go!m!n!i!s!t@"+GoMNISTVersion, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		src := writeIDXDir(t, 2, 2, 2, true)
		for _, b := range IDXNames {
			raw, _ := os.ReadFile(filepath.Join(src, b+".gz"))
			os.WriteFile(filepath.Join(data, b+".gz"), raw, 0o644)
		}
		t.Setenv(MNISTDirEnv, "")
		t.Setenv("GOMODCACHE", root)
		if got, err := MNISTDir(); err != nil || got != data {
			t.Fatalf("got %q, %v; want %q", got, err, data)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		t.Setenv(MNISTDirEnv, "")
		t.Setenv("GOMODCACHE", filepath.Join(t.TempDir(), "a"))
		t.Setenv("GOPATH", filepath.Join(t.TempDir(), "b"))
		t.Setenv("HOME", filepath.Join(t.TempDir(), "c"))
		_, err := MNISTDir()
		if err == nil {
			t.Fatal("got no error; want one")
		}
		for _, want := range []string{"a/github.com/petar", "b/pkg/mod", "c/go/pkg/mod", GoMNISTVersion} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(FashionMNISTDir, IDXNames[0]+".gz")); err != nil {
		testenv.Missing(t, "Fashion-MNIST in "+FashionMNISTDir, "apt-get install dataset-fashion-mnist")
	}
	if testing.Short() {
		t.Skip("reads 70,000 images")
	}
	train, test, err := FashionMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := train.Len()+test.Len(), 70000; got != want {
		t.Fatalf("samples got %d; want %d", got, want)
	}
	// Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
	counts := make([]int, 10)
	for _, l := range test.Labels {
		counts[l]++
	}
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("test class %d (%s) has %d images; want 1000", c, train.Classes[c], n)
		}
	}
}
