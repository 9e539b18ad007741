//go:build !unix

package interp

import "errors"

var errNoCapture = errors.New("interp: file descriptor capture needs a Unix system")

func dupFD(int) (int, error) { return -1, errNoCapture }

func dup2(int, int) error { return errNoCapture }

func writeFD(int, []byte) error { return errNoCapture }
