package runtime

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sealedSelf returns a handle on the runtime binary that cannot be written
// through, to re-execute as the container's init.
//
// CVE-2019-5736: a process in the container can open /proc/PID/exe of a
// runtime process that has entered the container (the init before execve,
// or an exec helper) and, once the runtime exits, reopen it for writing and
// replace the host's binary. Two ways to close that, as runc's
// cloned_binary did:
//   - the binary on a read-only mount that no mount namespace can reach,
//     so it can be neither written nor remounted. With the new mount API
//     that is a detached read-only copy of the binary's mount (open_tree,
//     mount_setattr: two system calls, and nothing to clean up if the
//     runtime is killed); on older kernels a bind mount in the state
//     directory, opened and then detached.
//   - otherwise a sealed memfd copy, which has no host file behind it at
//     all; it costs a copy of the binary per container.
//
// bin names the binary; "" means the running one. dir is a private
// directory (the container's state dir) for the bind mount's target.
//
// The caller passes the handle to the child in ExtraFiles and execs
// /proc/self/fd/N for its slot N there: the dup2 into that slot happens
// before execve, so the path names the right file. (Parking the fd high
// instead would grow the fd table, which costs an RCU grace period of
// milliseconds in a multi-threaded process.)
func sealedSelf(bin, dir string) (*os.File, error) {
	if bin == "" {
		bin = "/proc/self/exe"
	}
	fd, err := cloneTree(unix.AT_FDCWD, bin, 0, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV)
	if err == nil {
		return os.NewFile(uintptr(fd), bin), nil
	}
	if dir != "" {
		if f, err := roBind(bin, dir); err == nil {
			return f, nil
		}
	}
	return memfdCopy(bin)
}

// roBind opens bin through a read-only bind mount that is detached again
// before anything can use it.
func roBind(bin, dir string) (*os.File, error) {
	target := filepath.Join(dir, ".runtime-exe")
	if err := os.WriteFile(target, nil, 0o500); err != nil {
		return nil, err
	}
	defer os.Remove(target)
	if err := unix.Mount(bin, target, "", unix.MS_BIND, ""); err != nil {
		return nil, err
	}
	detach := func() { _ = unix.Unmount(target, unix.MNT_DETACH) }
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		detach()
		return nil, err
	}
	f, err := os.OpenFile(target, unix.O_PATH|unix.O_CLOEXEC, 0)
	detach()
	return f, err
}

func memfdCopy(bin string) (*os.File, error) {
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
	hi := fd
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
