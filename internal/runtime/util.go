package runtime

import (
	"os"
	"slices"
	"sort"

	"golang.org/x/sys/unix"
)

func sortStrings(s []string) { sort.Strings(s) }

// readFile is os.ReadFile with plain system calls. os.File registers each
// file with the netpoller (setting that up on first use) and sets
// finalizers: several system calls more per file, for config.json, the
// state and /proc reads on the way to every container's init.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
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
