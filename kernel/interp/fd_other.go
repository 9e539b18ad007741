//go:build unix && !linux

package interp

import "golang.org/x/sys/unix"

func dupFD(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

func dup2(from, to int) error { return unix.Dup2(from, to) }

func writeFD(fd int, b []byte) error {
	_, err := unix.Write(fd, b)
	return err
}
