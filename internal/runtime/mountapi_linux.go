package runtime

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The new mount API (open_tree and move_mount from Linux 5.2,
// mount_setattr from 5.12) works on file descriptors end to end: a bind is
// a detached copy of a mount tree, made read-only (or nosuid, ...) before
// anything can see it, then attached under a directory fd. No
// /proc/self/fd path is resolved and no remount follows, which costs
// about half the CPU of bind plus remount for the many binds of a
// container's /sys/fs/cgroup.

// errNoMountAPI means the kernel lacks the new API: use mount(2).
var errNoMountAPI = errors.New("no open_tree or mount_setattr")

// noMountAPI is learned from the first ENOSYS.
var noMountAPI bool

// cloneTree returns a detached copy of the mount tree at path (relative
// to dirfd; "" with AT_EMPTY_PATH in flags for dirfd itself), with flags
// (MS_RDONLY, MS_NOSUID, ...) applied to every mount in it.
func cloneTree(dirfd int, path string, flags uint, msFlags uintptr) (int, error) {
	if noMountAPI || testOldKernel {
		return -1, errNoMountAPI
	}
	fd, err := unix.OpenTree(dirfd, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|flags)
	if err == unix.ENOSYS {
		noMountAPI = true
		return -1, errNoMountAPI
	}
	if err != nil {
		return -1, err
	}
	if attr := mountAttr(msFlags); attr.Attr_set != 0 {
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			unix.Close(fd)
			if err == unix.ENOSYS {
				noMountAPI = true
				return -1, errNoMountAPI
			}
			return -1, err
		}
	}
	return fd, nil
}

// mountAttr translates mount(2)'s restricting flags into
// mount_setattr's. They are only ever added, so what the kernel has locked
// on the source stays as it is; access-time modes are not translated.
func mountAttr(f uintptr) unix.MountAttr {
	var a unix.MountAttr
	for _, m := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	} {
		if f&m.ms != 0 {
			a.Attr_set |= m.attr
		}
	}
	return a
}

// attachTree moves a detached tree from cloneTree onto name under dirfd
// ("" for dirfd itself) and closes it.
func attachTree(tree, dirfd int, name string) error {
	defer unix.Close(tree)
	flags := unix.MOVE_MOUNT_F_EMPTY_PATH
	if name == "" {
		flags |= unix.MOVE_MOUNT_T_EMPTY_PATH
	}
	return unix.MoveMount(tree, "", dirfd, name, flags)
}

// bindFd binds what fd src is open on onto what fd dst is open on, with
// flags applied, as one detached copy attached in place. It returns
// errNoMountAPI, and changes nothing, on kernels without the API.
func bindFd(src, dst int, flags uintptr) error {
	tree, err := cloneTree(src, "", unix.AT_EMPTY_PATH, flags)
	if err != nil {
		return err
	}
	return attachTree(tree, dst, "")
}
