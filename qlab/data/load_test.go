package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "mnist"}, {"MNIST", "mnist"}, {"fashion-mnist", "fashion-mnist"}, {"Fashion_MNIST", "fashion-mnist"},
		{"fashionmnist", "fashion-mnist"}, {"cifar10", "cifar10"}, {"CIFAR-10", "cifar10"}, {"cifar_10", "cifar10"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CanonicalName(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("CanonicalName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	if _, err := CanonicalName("imagenet"); err == nil || !strings.Contains(err.Error(), "imagenet") || !strings.Contains(err.Error(), "cifar10") {
		t.Errorf("CanonicalName(imagenet) error %v; want one naming it and the known names", err)
	}
}

// TestLoadSubsetMatchesFull checks that Load with TrainN/TestN decodes
// exactly the images and labels Subset keeps of the full read.
func TestLoadSubsetMatchesFull(t *testing.T) {
	fullTrain, fullTest, err := MNIST()
	if err != nil {
		t.Fatal(err) // MNIST ships inside the GoMNIST module: a failure to read it is a failure
	}
	train, test, err := Load("MNIST", LoadOptions{TrainN: 300, TestN: 70})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		got, full *Dataset
		n         int
	}{{train, fullTrain, 300}, {test, fullTest, 70}} {
		want := c.full.Subset(c.n)
		if c.got.Len() != c.n || !slices.Equal(c.got.Images.Shape, want.Images.Shape) {
			t.Fatalf("%s: %d images %v; want %d %v", c.got.Name, c.got.Len(), c.got.Images.Shape, c.n, want.Images.Shape)
		}
		if !slices.Equal(c.got.Images.Data, want.Images.Data) || !slices.Equal(c.got.Labels, want.Labels) || c.got.Name != c.full.Name {
			t.Errorf("%s: subset read differs from the first %d of the full read", c.got.Name, c.n)
		}
		if cap(c.got.Images.Data) != len(c.got.Images.Data) {
			t.Errorf("%s: holds %d floats for %d; a subset read must not keep the full split", c.got.Name, cap(c.got.Images.Data), len(c.got.Images.Data))
		}
	}
	all, _, err := Load("mnist", LoadOptions{TrainN: 1 << 30})
	if err != nil || all.Len() != fullTrain.Len() {
		t.Errorf("Load(TrainN larger than the split) = %v images, %v; want all %d", all.Len(), err, fullTrain.Len())
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	src, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range IDXNames {
		b, err := os.ReadFile(filepath.Join(src, name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		if name == IDXNames[1] {
			b = b[:len(b)/3] // cut the gzip stream: labels truncated
		}
		if err := os.WriteFile(filepath.Join(dir, name+".gz"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"unknown", LoadOptions{}, "unknown dataset"},
		{"mnist", LoadOptions{TrainN: -1}, "TrainN -1"},
		{"mnist", LoadOptions{Dir: t.TempDir(), TrainN: 5}, "missing train-images-idx3-ubyte"},
		{"mnist", LoadOptions{Dir: dir, TrainN: 59000}, "train-labels-idx1-ubyte"},
	} {
		t.Run(tc.name+tc.want, func(t *testing.T) {
			_, _, err := Load(tc.name, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%q, %+v) error %v; want one containing %q", tc.name, tc.opts, err, tc.want)
			}
		})
	}
	// The first records of the cut file are intact.
	if tr, _, err := Load("mnist", LoadOptions{Dir: dir, TrainN: 10, TestN: 10}); err != nil || tr.Len() != 10 {
		t.Errorf("Load of the intact head: %v, %v", tr, err)
	}
}

// TestLoadFashionMNISTDefault reads Fashion-MNIST from Debian's place when
// the dataset-fashion-mnist package is installed.
func TestLoadFashionMNISTDefault(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skipf("%s absent (Debian package dataset-fashion-mnist): %v", FashionMNISTDir, err)
	}
	train, test, err := Load("fashion-mnist", LoadOptions{TrainN: 64, TestN: 32})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 64 || test.Len() != 32 || train.Classes[9] != "Ankle boot" {
		t.Errorf("Fashion-MNIST: %d/%d images, classes %v", train.Len(), test.Len(), train.Classes)
	}
}
