// Package rawio reads files with plain system calls. os.File registers
// each file with the netpoller (setting it up on first use) and sets a
// finalizer: several system calls more per file, which the runtime pays
// for config.json, its state, cgroupfs and /proc on the way to every
// container's init.
package rawio

import (
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReadFile reads the whole file at path, starting with a buffer of size
// bytes; errors are *os.PathError, as os.ReadFile's.
func ReadFile(path string, size int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, max(size, 16))
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// FD writes to a file descriptor with plain write(2) calls. Unlike
// os.Stdout and os.Stderr, a write to a closed pipe is just an EPIPE
// error: os.File's write to fd 1 or 2 kills the program with SIGPIPE
// unless os/signal has been asked for that signal.
type FD int

func (f FD) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(int(f), p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: "fd " + strconv.Itoa(int(f)), Err: err}
		}
		n += m
	}
	return n, nil
}
