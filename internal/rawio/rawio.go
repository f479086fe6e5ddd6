// Package rawio reads and writes files with plain system calls. os.File registers
// each file with the netpoller (setting it up on first use) and sets a
// finalizer: several system calls more per file, which the runtime pays
// for config.json, its state, cgroupfs and /proc on the way to every
// container's init.
package rawio

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"

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
	n, err := writeAll(int(f), p)
	if err != nil {
		return n, &os.PathError{Op: "write", Path: "fd " + strconv.Itoa(int(f)), Err: err}
	}
	return n, nil
}

// writeAll writes all of p to fd, retrying on EINTR; the error is the
// bare errno.
func writeAll(fd int, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename. It uses the system calls directly: os.File would register the
// file with the netpoller first, tripling the syscalls of a state save
// on the path of every container start.
//
// The temporary file sits next to path, so the rename cannot cross
// file systems.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	var tmp string
	fd := -1
	var err error
	// O_EXCL|O_NOFOLLOW: a name planted in the directory is never followed
	// or reused; a stale one from a dead process of the same pid is skipped.
	for i := 0; i < 1000; i++ {
		tmp = filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid())+"."+strconv.Itoa(int(tmpSeq.Add(1))))
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	_, err = writeAll(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, uint32(mode.Perm()))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Rename(tmp, path)
	}
	if err != nil {
		_ = unix.Unlink(tmp)
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

var tmpSeq atomic.Int64
