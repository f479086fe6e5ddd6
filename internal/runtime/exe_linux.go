package runtime

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedSelf returns a sealed, read-only in-memory copy of the running
// binary to re-execute as the container's init.
//
// CVE-2019-5736: a process in the container can open /proc/PID/exe of a
// runtime process that has entered the container (the init before execve,
// or an exec helper) and, once the runtime exits, reopen it for writing and
// replace the host's binary. A sealed memfd has no file on the host behind
// it and refuses every write, so there is nothing to overwrite.
//
// bin names the binary to copy; "" means the running one.
func sealedSelf(bin string) (*os.File, error) {
	if bin == "" {
		bin = "/proc/self/exe"
	}
	self, err := os.Open(bin)
	if err != nil {
		return nil, err
	}
	defer self.Close()
	st, err := self.Stat()
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("brig-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL { // kernels before 6.3 do not know MFD_EXEC
		fd, err = unix.MemfdCreate("brig-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	// Keep the fd above the slots os/exec dup2s into, so the path
	// /proc/self/fd/N still names the memfd in the child at execve.
	hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 256)
	unix.Close(fd)
	if err != nil {
		return nil, err
	}
	mem := os.NewFile(uintptr(hi), "brig-runtime")
	var off int64
	for off < st.Size() {
		n, err := unix.Sendfile(hi, int(self.Fd()), &off, int(st.Size()-off))
		if err != nil || n == 0 {
			// sendfile into a memfd can be unsupported; fall back to copying.
			if _, err := self.Seek(off, io.SeekStart); err != nil {
				mem.Close()
				return nil, err
			}
			if _, err := io.Copy(mem, self); err != nil {
				mem.Close()
				return nil, err
			}
			break
		}
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE
	if _, err := unix.FcntlInt(uintptr(hi), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal runtime copy: %w", err)
	}
	return mem, nil
}
