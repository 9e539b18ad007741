//go:build !unix

package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// staleLock is the age after which a lock file whose holder cannot be
// asked (no flock here) is taken to be left by a dead process.
const staleLock = 24 * time.Hour

// lockFile creates path exclusively (O_EXCL); ok is false while another
// holder's file exists and is younger than staleLock. Without flock a
// killed holder's lock lingers until then (or until removed by hand).
func lockFile(path string) (unlock func(), ok bool, err error) {
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		st, serr := os.Stat(path)
		if serr != nil || time.Since(st.ModTime()) < staleLock {
			return nil, false, nil
		}
		os.Remove(path)
	}
	return nil, false, nil
}
