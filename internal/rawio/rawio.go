// Package rawio reads files with plain system calls. os.File registers
// each file with the netpoller (setting it up on first use) and sets a
// finalizer: several system calls more per file, which the runtime pays
// for config.json, its state, cgroupfs and /proc on the way to every
// container's init.
package rawio

import (
	"os"
	"slices"

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
