package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// CIFAR10URL is the official archive of the binary version of CIFAR-10.
	CIFAR10URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	// CIFAR10MD5 is the checksum the dataset's page publishes for it.
	CIFAR10MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
)

// ErrChecksum is wrapped by DownloadCIFAR10's error when the downloaded
// archive does not match the expected checksum.
var ErrChecksum = errors.New("data: checksum mismatch")

// DownloadOptions configures DownloadCIFAR10. The zero value fetches the
// official archive and checks it against the published MD5.
type DownloadOptions struct {
	// URL of a gzip-compressed tar archive holding the CIFAR10Files
	// (at any depth; the official one has them under
	// cifar-10-batches-bin/). Default CIFAR10URL.
	URL string
	// SHA256 is the expected hex SHA-256 of the archive; checked when set.
	SHA256 string
	// MD5 is the expected hex MD5 of the archive; checked when set.
	// Default CIFAR10MD5 when URL is empty. With a non-default URL at
	// least one of SHA256 and MD5 is required: the archive is never
	// unpacked unverified.
	MD5 string
	// Client performs the request. Default http.DefaultClient.
	Client *http.Client
	// Progress, when set, is called as the archive arrives with the bytes
	// received so far and the total (-1 when the server does not say).
	Progress func(done, total int64)
}

// DownloadCIFAR10 fetches the CIFAR-10 binary archive, verifies its
// checksum, and unpacks the CIFAR10Files into dir (dir "" means
// DefaultCIFAR10Dir), so that CIFAR10(dir) reads them. When dir already
// holds a complete copy it returns nil without touching the network.
//
// Nothing half-written is ever left at dir: the archive is downloaded and
// unpacked in a temporary directory beside dir, which is renamed into place
// only once every file is verified; on any failure or cancellation of ctx
// the temporary directory is removed. dir may exist beforehand only if it is
// empty.
func DownloadCIFAR10(ctx context.Context, dir string, opts DownloadOptions) (err error) {
	if dir == "" {
		if dir, err = DefaultCIFAR10Dir(); err != nil {
			return err
		}
	}
	if cifarComplete(dir) == nil {
		return nil
	}
	if err := checkTarget(dir); err != nil {
		return err
	}
	url, md5sum, sha := opts.URL, strings.ToLower(opts.MD5), strings.ToLower(opts.SHA256)
	if url == "" {
		url = CIFAR10URL
		if md5sum == "" && sha == "" {
			md5sum = CIFAR10MD5
		}
	}
	if md5sum == "" && sha == "" {
		return fmt.Errorf("data: download %s: no checksum given (set DownloadOptions.SHA256 or MD5)", url)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}

	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".cifar-10-download-*")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer os.RemoveAll(tmp)

	archive := filepath.Join(tmp, "archive.tar.gz")
	if err := fetch(ctx, client, url, archive, md5sum, sha, opts.Progress); err != nil {
		return err
	}
	out := filepath.Join(tmp, "cifar-10")
	if err := extractCIFAR(ctx, archive, out); err != nil {
		return fmt.Errorf("data: %s: %w", url, err)
	}
	if err := cifarComplete(out); err != nil {
		return fmt.Errorf("data: %s: archive content: %w", url, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("data: download %s: %w", url, err)
	}
	// An empty directory at dir (checked above) would make the rename fail
	// on most systems; it holds nothing, so remove it first.
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("data: %w", err)
		}
	}
	if err := os.Rename(out, dir); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if d, err := os.Open(parent); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

// checkTarget refuses to replace a directory that holds something, so a
// download never destroys files it did not write.
func checkTarget(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data: %s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("data: %s exists and is not a complete CIFAR-10 directory (%v); remove it to download again", dir, cifarComplete(dir))
	}
	return nil
}

// cifarComplete checks that dir holds every CIFAR-10 file with a plausible
// size, without reading them.
func cifarComplete(dir string) error {
	for _, f := range CIFAR10Files {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("missing %s", f)
		}
		if strings.HasSuffix(f, ".bin") && (st.Size() == 0 || st.Size()%cifarRecordSize != 0) {
			return fmt.Errorf("%w: %s: %d bytes is not a whole number of %d-byte records", ErrCorrupt, f, st.Size(), cifarRecordSize)
		}
	}
	return nil
}

type progressWriter struct {
	done, total int64
	fn          func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return len(b), nil
}

func fetch(ctx context.Context, client *http.Client, url, dst, md5sum, sha string, progress func(done, total int64)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("data: download: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("data: download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("data: download %s: %s", url, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	hashes := map[string]hash.Hash{}
	ws := []io.Writer{f}
	if md5sum != "" {
		hashes["MD5"] = md5.New()
		ws = append(ws, hashes["MD5"])
	}
	if sha != "" {
		hashes["SHA-256"] = sha256.New()
		ws = append(ws, hashes["SHA-256"])
	}
	pw := &progressWriter{total: resp.ContentLength, fn: progress}
	ws = append(ws, pw)
	n, err := io.Copy(io.MultiWriter(ws...), resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("data: download %s after %d bytes: %w", url, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("data: download %s: got %d of %d bytes", url, n, resp.ContentLength)
	}
	for name, want := range map[string]string{"MD5": md5sum, "SHA-256": sha} {
		if want == "" {
			continue
		}
		if got := hex.EncodeToString(hashes[name].Sum(nil)); got != want {
			return fmt.Errorf("%w: %s of %s is %s; want %s", ErrChecksum, name, url, got, want)
		}
	}
	return f.Close()
}

// extractCIFAR unpacks the regular files of the archive whose base name is
// one of CIFAR10Files into out, flattening any directory prefix. Other
// entries are ignored; names are never joined onto out as given, so a
// hostile archive cannot write outside it.
func extractCIFAR(ctx context.Context, archive, out string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%w: archive: gzip: %v", ErrCorrupt, eofAsTruncated(err))
	}
	defer z.Close()
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(z)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: archive: %v", ErrCorrupt, eofAsTruncated(err))
		}
		base := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg || !slices.Contains(CIFAR10Files, base) {
			continue
		}
		if err := writeEntry(filepath.Join(out, base), tr, h.Size); err != nil {
			return fmt.Errorf("%w: archive entry %s: %v", ErrCorrupt, h.Name, err)
		}
	}
}

func writeEntry(dst string, r io.Reader, size int64) error {
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, r)
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d of %d bytes", n, size)
	}
	if err != nil {
		w.Close()
		return eofAsTruncated(err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
