package label

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive flock on name. flock (not fcntl) locks belong to
// the open file description, so goroutines in one process exclude each other
// as well as separate brig processes, and the kernel drops the lock when a
// process dies, so a crash never leaves the allocator locked.
func lock(name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
