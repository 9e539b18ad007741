package interp

import "golang.org/x/sys/unix"

func dupFD(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// dup2 uses Dup3 because linux/arm64 has no dup2 system call.
func dup2(from, to int) error { return unix.Dup3(from, to, 0) }

func writeFD(fd int, b []byte) error {
	_, err := unix.Write(fd, b)
	return err
}
