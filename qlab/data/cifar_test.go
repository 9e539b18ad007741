package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cifarFiles returns the CIFAR10Files with n records per batch: record r of
// batch b has label (b+r) mod 10 and pixel k equal to (b*7+r+k) mod 256.
func cifarFiles(n int) map[string][]byte {
	files := map[string][]byte{}
	for b, name := range CIFAR10Files[:6] {
		buf := make([]byte, n*cifarRecordSize)
		for r := 0; r < n; r++ {
			rec := buf[r*cifarRecordSize:]
			rec[0] = byte((b + r) % 10)
			for k := 0; k < cifarPixels; k++ {
				rec[1+k] = byte(b*7 + r + k)
			}
		}
		files[name] = buf
	}
	files["batches.meta.txt"] = []byte(strings.Join(CIFAR10Classes, "\n") + "\n\n")
	return files
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCIFAR10(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, cifarFiles(3))
	train, test, err := CIFAR10(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := train.Images.Shape, []int{15, 3, 32, 32}; !equalInts(got, want) {
		t.Fatalf("train shape got %v; want %v", got, want)
	}
	if got, want := test.Len(), 3; got != want {
		t.Fatalf("test Len got %d; want %d", got, want)
	}
	// Sample 4 is batch 1, record 1: label 2, pixel k = (7+1+k) mod 256.
	// Pixel index 1024 is the first green value: channel-major layout.
	if got, want := train.Labels[4], 2; got != want {
		t.Errorf("label got %d; want %d", got, want)
	}
	for _, k := range []int{0, 1023, 1024, 3071} {
		if got, want := train.Images.Data[4*cifarPixels+k], float32(byte(8+k))/255; got != want {
			t.Errorf("pixel %d got %v; want %v", k, got, want)
		}
	}
	if got, want := train.Classes[9], "truck"; got != want {
		t.Errorf("class 9 got %q; want %q", got, want)
	}

	t.Run("subdirectory", func(t *testing.T) {
		root := t.TempDir()
		sub := filepath.Join(root, "cifar-10-batches-bin")
		os.Mkdir(sub, 0o755)
		writeFiles(t, sub, cifarFiles(1))
		if tr, _, err := CIFAR10(root); err != nil || tr.Len() != 5 {
			t.Fatalf("got %v, %v; want 5 training samples", tr, err)
		}
	})
}

func TestCIFAR10Corrupt(t *testing.T) {
	cases := []struct {
		name string
		mod  func(f map[string][]byte)
		want string
	}{
		{"truncated", func(f map[string][]byte) { f["data_batch_3.bin"] = f["data_batch_3.bin"][:cifarRecordSize+100] }, "data_batch_3.bin: data: corrupt file: 3173 bytes"},
		{"empty", func(f map[string][]byte) { f["test_batch.bin"] = nil }, "test_batch.bin"},
		{"label", func(f map[string][]byte) { f["data_batch_2.bin"][cifarRecordSize] = 12 }, "record 1 has label 12"},
		{"meta", func(f map[string][]byte) { f["batches.meta.txt"] = []byte("cat\ndog\n") }, "2 class names"},
		{"missing", func(f map[string][]byte) { delete(f, "data_batch_5.bin") }, "data_batch_5.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := cifarFiles(2)
			c.mod(f)
			dir := t.TempDir()
			writeFiles(t, dir, f)
			_, _, err := CIFAR10(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want an error containing %q", err, c.want)
			}
		})
	}
}

// tarGz builds a gzip-compressed tar holding files under prefix/.
func tarGz(t *testing.T, prefix string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	tw := tar.NewWriter(z)
	tw.WriteHeader(&tar.Header{Name: prefix + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	// A hostile entry: must be ignored, never written outside the target.
	tw.WriteHeader(&tar.Header{Name: "../escape.txt", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	for _, name := range CIFAR10Files {
		b, ok := files[name]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: prefix + "/" + name, Typeflag: tar.TypeReg, Size: int64(len(b)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tw.Close()
	z.Close()
	return buf.Bytes()
}

func md5hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// leftovers lists what a download left in dir's parent besides dir.
func leftovers(t *testing.T, parent string) []string {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	var out []string
	for _, e := range ents {
		if e.Name() != "cifar" {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestDownloadCIFAR10(t *testing.T) {
	good := tarGz(t, "cifar-10-batches-bin", cifarFiles(2))
	missing := cifarFiles(2)
	delete(missing, "test_batch.bin")
	badSize := cifarFiles(2)
	badSize["data_batch_1.bin"] = badSize["data_batch_1.bin"][:100]
	archives := map[string][]byte{
		"/good.tar.gz":      good,
		"/garbage.tar.gz":   bytes.Repeat([]byte("not an archive"), 100),
		"/cut.tar.gz":       good[:len(good)/2],
		"/missing.tar.gz":   tarGz(t, "x", missing),
		"/badsize.tar.gz":   tarGz(t, "x", badSize),
		"/truncated.tar.gz": good, // served with a Content-Length it never fulfils
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := archives[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/truncated.tar.gz" {
			w.Header().Set("Content-Length", "100000")
			w.Write(b[:1000])
			return
		}
		w.Write(b)
	}))
	defer srv.Close()

	cases := []struct {
		name string
		path string
		opts DownloadOptions
		want string // "" = success
		is   error
	}{
		{"good md5", "/good.tar.gz", DownloadOptions{MD5: md5hex(good)}, "", nil},
		{"good sha256", "/good.tar.gz", DownloadOptions{SHA256: strings.ToUpper(sha256hex(good))}, "", nil},
		{"wrong md5", "/good.tar.gz", DownloadOptions{MD5: md5hex([]byte("x"))}, "MD5", ErrChecksum},
		{"wrong sha256", "/good.tar.gz", DownloadOptions{MD5: md5hex(good), SHA256: sha256hex(nil)}, "SHA-256", ErrChecksum},
		{"no checksum", "/good.tar.gz", DownloadOptions{}, "no checksum", nil},
		{"garbage", "/garbage.tar.gz", DownloadOptions{MD5: md5hex(archives["/garbage.tar.gz"])}, "gzip", ErrCorrupt},
		{"cut archive", "/cut.tar.gz", DownloadOptions{MD5: md5hex(archives["/cut.tar.gz"])}, "truncated", ErrCorrupt},
		{"missing file", "/missing.tar.gz", DownloadOptions{MD5: md5hex(archives["/missing.tar.gz"])}, "missing test_batch.bin", nil},
		{"bad size", "/badsize.tar.gz", DownloadOptions{MD5: md5hex(archives["/badsize.tar.gz"])}, "data_batch_1.bin: 100 bytes", ErrCorrupt},
		{"short body", "/truncated.tar.gz", DownloadOptions{MD5: md5hex(good)}, "unexpected EOF", nil},
		{"404", "/nothere", DownloadOptions{MD5: md5hex(good)}, "404", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "cifar")
			c.opts.URL = srv.URL + c.path
			var last int64
			c.opts.Progress = func(done, total int64) { last = done }
			err := DownloadCIFAR10(context.Background(), dir, c.opts)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if last != int64(len(good)) {
					t.Errorf("progress ended at %d; want %d", last, len(good))
				}
				train, test, err := CIFAR10(dir)
				if err != nil {
					t.Fatal(err)
				}
				if train.Len() != 10 || test.Len() != 2 {
					t.Errorf("got %d train, %d test; want 10, 2", train.Len(), test.Len())
				}
				if l := leftovers(t, parent); len(l) != 0 {
					t.Errorf("left behind %v", l)
				}
				if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
					t.Errorf("hostile entry was extracted")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want an error containing %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
			if _, serr := os.Stat(dir); serr == nil {
				t.Errorf("%s exists after a failed download", dir)
			}
			if l := leftovers(t, parent); len(l) != 0 {
				t.Errorf("left behind %v", l)
			}
		})
	}

	t.Run("already there", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cifar")
		opts := DownloadOptions{URL: srv.URL + "/good.tar.gz", MD5: md5hex(good)}
		if err := DownloadCIFAR10(context.Background(), dir, opts); err != nil {
			t.Fatal(err)
		}
		before := hits.Load()
		if err := DownloadCIFAR10(context.Background(), dir, opts); err != nil {
			t.Fatal(err)
		}
		if got := hits.Load() - before; got != 0 {
			t.Errorf("second download made %d requests; want 0", got)
		}
	})

	t.Run("empty dir replaced, non-empty refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cifar")
		os.Mkdir(dir, 0o755)
		opts := DownloadOptions{URL: srv.URL + "/good.tar.gz", MD5: md5hex(good)}
		if err := DownloadCIFAR10(context.Background(), dir, opts); err != nil {
			t.Fatalf("empty target: %v", err)
		}
		other := filepath.Join(t.TempDir(), "cifar")
		os.Mkdir(other, 0o755)
		os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
		err := DownloadCIFAR10(context.Background(), other, opts)
		if err == nil || !strings.Contains(err.Error(), "remove it") {
			t.Fatalf("got %v; want a refusal", err)
		}
		if b, _ := os.ReadFile(filepath.Join(other, "notes.txt")); string(b) != "mine" {
			t.Errorf("existing file was touched")
		}
	})
}

func TestDownloadCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select { // stall until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	parent := t.TempDir()
	dir := filepath.Join(parent, "cifar")
	ctx, cancel := context.WithCancel(context.Background())
	opts := DownloadOptions{URL: srv.URL, MD5: CIFAR10MD5, Progress: func(done, total int64) {
		if done >= 1000 {
			cancel()
		}
	}}
	done := make(chan error, 1)
	go func() { done <- DownloadCIFAR10(ctx, dir, opts) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v; want an error wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("download did not return after cancellation")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s exists after a cancelled download", dir)
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Errorf("left behind %v", l)
	}
}
