package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Dataset names Load accepts (CanonicalName maps spellings such as
// "Fashion_MNIST" or "CIFAR-10" onto them).
const (
	NameMNIST        = "mnist"
	NameFashionMNIST = "fashion-mnist"
	NameCIFAR10      = "cifar10"
)

// Names lists the dataset names Load accepts, in canonical spelling.
func Names() []string { return []string{NameMNIST, NameFashionMNIST, NameCIFAR10} }

// CanonicalName returns the canonical spelling of a dataset name: case and
// the separators "-", "_" do not matter ("MNIST", "fashion_mnist",
// "FashionMNIST", "CIFAR-10" are all accepted), and "" means "mnist". An
// unknown name is an error listing the known ones.
func CanonicalName(name string) (string, error) {
	key := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(name))
	switch key {
	case "", "mnist":
		return NameMNIST, nil
	case "fashionmnist":
		return NameFashionMNIST, nil
	case "cifar10":
		return NameCIFAR10, nil
	}
	return "", fmt.Errorf("data: unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}

// LoadOptions configure Load. The zero value reads every image of the
// dataset from its default place.
type LoadOptions struct {
	// Dir is the directory holding the dataset's files. "" means the
	// dataset's default place: for "mnist" the copy inside the GoMNIST Go
	// module (see MNIST), for "fashion-mnist" FashionMNISTDir (where
	// Debian's dataset-fashion-mnist package installs it), for "cifar10"
	// DefaultCIFAR10Dir.
	Dir string
	// TrainN and TestN keep the first n images of each split, as
	// Dataset.Subset does; 0 (or more than the split holds) keeps them all.
	// Only those images are decoded, so a subset of a large dataset costs
	// the memory of the subset alone.
	TrainN, TestN int
}

// Load reads the dataset called name ("mnist", "fashion-mnist" or
// "cifar10", in any spelling CanonicalName accepts) and returns its
// training and test splits, images as float32 in [0, 1] (N, C, H, W). It is
// the one way the study reads data: notebooks and qlab/sweep both call it,
// so a name and options mean the same images everywhere.
//
// With TrainN or TestN set only the first records of each file are read and
// checked; without them the whole file must be well formed (see ReadIDX and
// CIFAR10). Errors name the dataset and the file.
func Load(name string, opts LoadOptions) (train, test *Dataset, err error) {
	canon, err := CanonicalName(name)
	if err != nil {
		return nil, nil, err
	}
	if opts.TrainN < 0 || opts.TestN < 0 {
		return nil, nil, fmt.Errorf("data: %s: LoadOptions.TrainN %d, TestN %d; want >= 0 (0 = all)", canon, opts.TrainN, opts.TestN)
	}
	dir := opts.Dir
	switch canon {
	case NameMNIST:
		if dir == "" {
			if dir, err = MNISTDir(); err != nil {
				return nil, nil, err
			}
		}
		return loadIDXLimited(dir, "MNIST", MNISTClasses, opts.TrainN, opts.TestN)
	case NameFashionMNIST:
		if dir == "" {
			dir = FashionMNISTDir
		}
		return loadIDXLimited(dir, "Fashion-MNIST", FashionMNISTClasses, opts.TrainN, opts.TestN)
	default: // NameCIFAR10
		if opts.TrainN == 0 && opts.TestN == 0 {
			return CIFAR10(dir)
		}
		if train, test, err = CIFAR10(dir); err != nil {
			return nil, nil, err
		}
		// CIFAR-10's binary files hold the split as five batches of
		// records; reading the whole split is cheap next to training on
		// it, and a clone lets the full split be collected.
		return train.Subset(opts.TrainN).Clone(), test.Subset(opts.TestN).Clone(), nil
	}
}

// loadIDXLimited is LoadIDX reading only the first nTrain and nTest records
// (0 = all).
func loadIDXLimited(dir, name string, classes []string, nTrain, nTest int) (train, test *Dataset, err error) {
	if nTrain == 0 && nTest == 0 {
		return LoadIDX(dir, name, classes)
	}
	paths := make([]string, len(IDXNames))
	for i, base := range IDXNames {
		if paths[i], err = findIDX(dir, base); err != nil {
			return nil, nil, err
		}
	}
	if train, err = loadIDXPairLimited(paths[0], paths[1], name+" train", classes, nTrain); err != nil {
		return nil, nil, err
	}
	if test, err = loadIDXPairLimited(paths[2], paths[3], name+" test", classes, nTest); err != nil {
		return nil, nil, err
	}
	if !tensor.SameShape(train.Shape(), test.Shape()) {
		return nil, nil, fmt.Errorf("data: %s: train images are %v but test images are %v", dir, train.Shape(), test.Shape())
	}
	return train, test, nil
}

func loadIDXPairLimited(imgPath, lblPath, name string, classes []string, n int) (*Dataset, error) {
	if n == 0 {
		return loadIDXPair(imgPath, lblPath, name, classes)
	}
	img, err := readIDXHead(imgPath, n)
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: %w: images have %d dimensions %v; want 3 (count, rows, cols)", imgPath, ErrCorrupt, len(img.Dims), img.Dims)
	}
	lbl, err := readIDXHead(lblPath, n)
	if err != nil {
		return nil, err
	}
	if len(lbl.Dims) != 1 {
		return nil, fmt.Errorf("data: %s: %w: labels have %d dimensions %v; want 1", lblPath, ErrCorrupt, len(lbl.Dims), lbl.Dims)
	}
	if img.Dims[0] != lbl.Dims[0] {
		return nil, fmt.Errorf("data: %w: %s holds %d images but %s holds %d labels", ErrCorrupt, imgPath, img.Dims[0], lblPath, lbl.Dims[0])
	}
	k, h, w := img.Dims[0], img.Dims[1], img.Dims[2]
	labels := make([]int, k)
	for i, l := range lbl.Data {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("data: %s: %w: label %d of sample %d is not below %d classes", lblPath, ErrCorrupt, l, i, len(classes))
		}
		labels[i] = int(l)
	}
	images := &tensor.Tensor{Shape: []int{k, 1, h, w}, Data: make([]float32, len(img.Data))}
	bytesToUnit(images.Data, img.Data)
	return &Dataset{Name: name, Images: images, Labels: labels, Classes: classes}, nil
}

// readIDXHead reads the header of an IDX file (gzip-compressed or raw) and
// its first n records (all of them when the file holds fewer); Dims[0] of
// the result is the number of records read.
func readIDXHead(path string, n int) (*IDX, error) {
	r, done, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer done()
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("data: %s: %w: header: %v", path, ErrCorrupt, eofAsTruncated(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] == 0 {
		return nil, fmt.Errorf("data: %s: %w: header %#08x is not an unsigned-byte IDX header", path, ErrCorrupt, binary.BigEndian.Uint32(hdr[:]))
	}
	dims := make([]int, hdr[3])
	record := 1
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("data: %s: %w: dimension %d: %v", path, ErrCorrupt, i, eofAsTruncated(err))
		}
		dims[i] = int(binary.BigEndian.Uint32(b[:]))
		if i > 0 {
			record *= dims[i]
			if record > maxIDXElements {
				return nil, fmt.Errorf("data: %s: %w: record dimensions %v exceed %d elements", path, ErrCorrupt, dims[1:i+1], maxIDXElements)
			}
		}
	}
	dims[0] = min(dims[0], n)
	if dims[0]*record > maxIDXElements {
		return nil, fmt.Errorf("data: %s: %w: %d records of %d bytes exceed %d elements", path, ErrCorrupt, dims[0], record, maxIDXElements)
	}
	data := make([]byte, dims[0]*record)
	if got, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("data: %s: %w: truncated: %d records of %d bytes need %d data bytes, found %d", path, ErrCorrupt, dims[0], record, len(data), got)
	}
	return &IDX{Dims: dims, Data: data}, nil
}
