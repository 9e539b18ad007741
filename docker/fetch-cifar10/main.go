// Command fetch-cifar10 downloads the binary version of CIFAR-10, verifies
// its checksum and unpacks it into a directory, through qlab/data's
// DownloadCIFAR10. docker/install.sh runs it for the image's FETCH_CIFAR10
// build argument.
//
//	go run ./docker/fetch-cifar10 [-url URL -sha256 HEX] DIR
//
// Without -url it fetches the official archive (data.CIFAR10URL) and checks
// the published MD5. DIR must be absent or empty; a complete copy already
// there is left alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/qlab-dev/qlab/qlab/data"
)

func main() {
	url := flag.String("url", "", "archive URL (default: the official CIFAR-10 binary archive)")
	sha := flag.String("sha256", "", "expected SHA-256 of the archive (required with -url unless -md5 is given)")
	md5 := flag.String("md5", "", "expected MD5 of the archive")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fetch-cifar10 [-url URL -sha256 HEX] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := data.DownloadOptions{URL: *url, SHA256: *sha, MD5: *md5}
	if err := data.DownloadCIFAR10(ctx, dir, opts); err != nil {
		fmt.Fprintln(os.Stderr, "fetch-cifar10:", err)
		os.Exit(1)
	}
	fmt.Printf("fetch-cifar10: CIFAR-10 in %s (set QLAB_CIFAR10_DIR=%s)\n", dir, dir)
}
