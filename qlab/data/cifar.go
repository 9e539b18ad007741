package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// CIFAR-10 binary format: records of one label byte followed by 32x32 pixels
// of red, then green, then blue (channel-major, already NCHW).
const (
	cifarSide       = 32
	cifarPixels     = 3 * cifarSide * cifarSide
	cifarRecordSize = 1 + cifarPixels // 3073 bytes
)

// CIFAR10Files are the files of the binary version of CIFAR-10, as the
// official archive's cifar-10-batches-bin directory holds them.
var CIFAR10Files = []string{
	"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
	"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin", "batches.meta.txt",
}

// CIFAR10Classes are CIFAR-10's class names in label order, used when
// batches.meta.txt is absent.
var CIFAR10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// CIFAR10DirEnv names an environment variable that overrides
// DefaultCIFAR10Dir.
const CIFAR10DirEnv = "QLAB_CIFAR10_DIR"

// DefaultCIFAR10Dir is where CIFAR10("") and DownloadCIFAR10(ctx, "", ...)
// keep the dataset: $QLAB_CIFAR10_DIR when set, otherwise
// <user cache dir>/qlab/cifar-10 (e.g. ~/.cache/qlab/cifar-10 on Linux).
func DefaultCIFAR10Dir() (string, error) {
	if d := os.Getenv(CIFAR10DirEnv); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("data: no CIFAR-10 directory: set $%s (%v)", CIFAR10DirEnv, err)
	}
	return filepath.Join(c, "qlab", "cifar-10"), nil
}

// CIFAR10 reads the binary version of CIFAR-10 from dir (the files of
// CIFAR10Files, directly in dir or in its cifar-10-batches-bin
// subdirectory; dir "" means DefaultCIFAR10Dir). Images become
// (N, 3, 32, 32) float32 in [0, 1]: 50,000 for training, 10,000 for test
// with the official files. Every batch file must be a whole number of
// 3073-byte records and every label a valid class; errors name the file.
func CIFAR10(dir string) (train, test *Dataset, err error) {
	if dir == "" {
		if dir, err = DefaultCIFAR10Dir(); err != nil {
			return nil, nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, CIFAR10Files[0])); err != nil {
		if sub := filepath.Join(dir, "cifar-10-batches-bin"); fileExists(filepath.Join(sub, CIFAR10Files[0])) {
			dir = sub
		}
	}
	classes := CIFAR10Classes
	if meta := filepath.Join(dir, "batches.meta.txt"); fileExists(meta) {
		if classes, err = readCIFARMeta(meta); err != nil {
			return nil, nil, err
		}
	}
	train, err = readCIFARBatches(dir, CIFAR10Files[:5], "CIFAR-10 train", classes)
	if err != nil {
		return nil, nil, err
	}
	test, err = readCIFARBatches(dir, CIFAR10Files[5:6], "CIFAR-10 test", classes)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func readCIFARMeta(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if len(names) != 10 {
		return nil, fmt.Errorf("data: %s: %w: %d class names; want 10", path, ErrCorrupt, len(names))
	}
	return names, nil
}

func readCIFARBatches(dir string, files []string, name string, classes []string) (*Dataset, error) {
	var raws [][]byte
	total := 0
	for _, f := range files {
		p := filepath.Join(dir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("data: CIFAR-10: %w", err)
		}
		if len(b) == 0 || len(b)%cifarRecordSize != 0 {
			return nil, fmt.Errorf("data: %s: %w: %d bytes is not a whole number of %d-byte records", p, ErrCorrupt, len(b), cifarRecordSize)
		}
		for r := 0; r < len(b); r += cifarRecordSize {
			if int(b[r]) >= len(classes) {
				return nil, fmt.Errorf("data: %s: %w: record %d has label %d, not below %d classes", p, ErrCorrupt, r/cifarRecordSize, b[r], len(classes))
			}
		}
		raws = append(raws, b)
		total += len(b) / cifarRecordSize
	}
	images := &tensor.Tensor{Shape: []int{total, 3, cifarSide, cifarSide}, Data: make([]float32, total*cifarPixels)}
	labels := make([]int, total)
	i := 0
	for _, b := range raws {
		for r := 0; r < len(b); r += cifarRecordSize {
			labels[i] = int(b[r])
			bytesToUnit(images.Data[i*cifarPixels:(i+1)*cifarPixels], b[r+1:r+cifarRecordSize])
			i++
		}
	}
	return &Dataset{Name: name, Images: images, Labels: labels, Classes: classes}, nil
}
