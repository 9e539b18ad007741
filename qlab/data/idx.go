package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// IDX is one array read from an IDX file (the format MNIST and Fashion-MNIST
// are distributed in): its dimensions, outermost first, and its unsigned
// bytes in row-major order.
type IDX struct {
	Dims []int
	Data []byte
}

// maxIDXElements bounds what a header may claim, so a corrupt header cannot
// make the reader allocate gigabytes.
const maxIDXElements = 1 << 31

// ReadIDX parses an unsigned-byte IDX stream (type code 0x08): two zero
// bytes, the type code, the number of dimensions, each dimension as a
// big-endian uint32, then the data. The stream must hold exactly the number
// of bytes the dimensions call for: missing bytes and trailing bytes are both
// errors wrapping ErrCorrupt.
func ReadIDX(r io.Reader) (*IDX, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, eofAsTruncated(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("%w: bad magic number %#08x (first two bytes must be zero)", ErrCorrupt, binary.BigEndian.Uint32(hdr[:]))
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("%w: element type %#02x is not unsigned byte (0x08)", ErrCorrupt, hdr[2])
	}
	nd := int(hdr[3])
	if nd == 0 {
		return nil, fmt.Errorf("%w: header declares zero dimensions", ErrCorrupt)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: dimension %d: %v", ErrCorrupt, i, eofAsTruncated(err))
		}
		dims[i] = int(binary.BigEndian.Uint32(b[:]))
		total *= dims[i]
		if total > maxIDXElements {
			return nil, fmt.Errorf("%w: dimensions %v exceed %d elements", ErrCorrupt, dims[:i+1], maxIDXElements)
		}
	}
	data := make([]byte, total)
	if n, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("%w: truncated: dimensions %v need %d data bytes, found %d", ErrCorrupt, dims, total, n)
	}
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%w: trailing bytes after the %d data bytes of dimensions %v", ErrCorrupt, total, dims)
	} else if err != nil && err != io.EOF {
		// A gzip stream cut short surfaces here, after the data bytes.
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, eofAsTruncated(err))
	}
	return &IDX{Dims: dims, Data: data}, nil
}

func eofAsTruncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated")
	}
	return err
}

// ReadIDXFile reads one IDX file, gzip-compressed (detected from its first
// bytes, whatever the name) or raw. Errors name the file.
func ReadIDXFile(path string) (*IDX, error) {
	r, done, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer done()
	idx, err := ReadIDX(r)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return idx, nil
}

// openIDX opens an IDX file for reading through a gzip reader when its first
// bytes say it is compressed; done closes what was opened.
func openIDX(path string) (r io.Reader, done func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if magic, _ := br.Peek(2); !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return br, func() { f.Close() }, nil
	}
	z, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("data: %s: %w: gzip: %v", path, ErrCorrupt, eofAsTruncated(err))
	}
	return z, func() { z.Close(); f.Close() }, nil
}

// IDXNames are the four file names of an IDX dataset directory, without the
// optional ".gz" suffix.
var IDXNames = [4]string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// LoadIDX reads an IDX dataset directory holding the four files of
// IDXNames (each either raw or with a ".gz" suffix), such as MNIST or
// Fashion-MNIST. Images become (N, 1, rows, cols) float32 in [0, 1]; labels
// must be below len(classes). name becomes the datasets' Name with " train"
// or " test" appended.
func LoadIDX(dir, name string, classes []string) (train, test *Dataset, err error) {
	paths := make([]string, len(IDXNames))
	for i, base := range IDXNames {
		p, err := findIDX(dir, base)
		if err != nil {
			return nil, nil, err
		}
		paths[i] = p
	}
	train, err = loadIDXPair(paths[0], paths[1], name+" train", classes)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDXPair(paths[2], paths[3], name+" test", classes)
	if err != nil {
		return nil, nil, err
	}
	if !tensor.SameShape(train.Shape(), test.Shape()) {
		return nil, nil, fmt.Errorf("data: %s: train images are %v but test images are %v", dir, train.Shape(), test.Shape())
	}
	return train, test, nil
}

func findIDX(dir, base string) (string, error) {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("data: %s: missing %s (or %s.gz)", dir, base, base)
}

func loadIDXPair(imgPath, lblPath, name string, classes []string) (*Dataset, error) {
	img, err := ReadIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: %w: images have %d dimensions %v; want 3 (count, rows, cols)", imgPath, ErrCorrupt, len(img.Dims), img.Dims)
	}
	lbl, err := ReadIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	if len(lbl.Dims) != 1 {
		return nil, fmt.Errorf("data: %s: %w: labels have %d dimensions %v; want 1", lblPath, ErrCorrupt, len(lbl.Dims), lbl.Dims)
	}
	n, h, w := img.Dims[0], img.Dims[1], img.Dims[2]
	if lbl.Dims[0] != n {
		return nil, fmt.Errorf("data: %w: %s holds %d images but %s holds %d labels", ErrCorrupt, imgPath, n, lblPath, lbl.Dims[0])
	}
	labels := make([]int, n)
	for i, l := range lbl.Data {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("data: %s: %w: label %d of sample %d is not below %d classes", lblPath, ErrCorrupt, l, i, len(classes))
		}
		labels[i] = int(l)
	}
	images := &tensor.Tensor{Shape: []int{n, 1, h, w}, Data: make([]float32, len(img.Data))}
	bytesToUnit(images.Data, img.Data)
	return &Dataset{Name: name, Images: images, Labels: labels, Classes: classes}, nil
}

// bytesToUnit scales 8-bit pixels to [0, 1]. The division (not a multiply by
// 1/255) keeps values identical to torchvision's ToTensor.
func bytesToUnit(dst []float32, src []byte) {
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	for i, b := range src {
		dst[i] = lut[b]
	}
}

// MNISTClasses are MNIST's class names, the digits.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTClasses are Fashion-MNIST's class names, in label order.
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MNISTFrom reads MNIST (60,000 train and 10,000 test images, 1x28x28) from a
// directory of IDX files.
func MNISTFrom(dir string) (train, test *Dataset, err error) {
	return LoadIDX(dir, "MNIST", MNISTClasses)
}

// FashionMNIST reads Fashion-MNIST from a directory of IDX files; dir ""
// means FashionMNISTDir.
func FashionMNIST(dir string) (train, test *Dataset, err error) {
	if dir == "" {
		dir = FashionMNISTDir
	}
	return LoadIDX(dir, "Fashion-MNIST", FashionMNISTClasses)
}
