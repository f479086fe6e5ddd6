//go:build linux

package landlock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Access rights (linux/landlock.h) and the ABI that introduced them.
const (
	fsExecute    = 1 << 0
	fsWriteFile  = 1 << 1
	fsReadFile   = 1 << 2
	fsReadDir    = 1 << 3
	fsV1         = 1<<13 - 1 // EXECUTE .. MAKE_SYM
	fsRefer      = 1 << 13   // ABI 2
	fsTruncate   = 1 << 14   // ABI 3
	fsIoctlDev   = 1 << 15   // ABI 5
	netBindTCP   = 1 << 0    // ABI 4
	netConnTCP   = 1 << 1    // ABI 4
	ruleNetPort  = 2         // LANDLOCK_RULE_NET_PORT
	rulePath     = 1         // LANDLOCK_RULE_PATH_BENEATH
	fileRights   = fsExecute | fsWriteFile | fsReadFile | fsTruncate | fsIoctlDev
	readRights   = fsExecute | fsReadFile | fsReadDir
	createFlagV  = 1 // LANDLOCK_CREATE_RULESET_VERSION
	attrSizeNoSc = 16
)

// ABI returns the kernel's Landlock ABI version, or an error wrapping
// ErrUnsupported that says why there is none.
func ABI() (int, error) {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, createFlagV)
	switch e {
	case 0:
		return int(v), nil
	case unix.ENOSYS:
		return 0, fmt.Errorf("the kernel has no Landlock (CONFIG_SECURITY_LANDLOCK): %w", ErrUnsupported)
	case unix.EOPNOTSUPP:
		return 0, fmt.Errorf("the kernel has Landlock disabled at boot (add landlock to the lsm= kernel parameter): %w", ErrUnsupported)
	}
	return 0, fmt.Errorf("landlock: probing the ABI: %v: %w", e, ErrUnsupported)
}

func fsRights(abi int) uint64 {
	r := uint64(fsV1)
	if abi >= 2 {
		r |= fsRefer
	}
	if abi >= 3 {
		r |= fsTruncate
	}
	if abi >= 5 {
		r |= fsIoctlDev
	}
	return r
}

// Apply restricts the calling thread, and everything it executes, to r.
// The goroutine is locked to its OS thread and stays locked: a Landlock
// domain belongs to one thread, so the caller must execve from the same
// goroutine (brig's init does, right after Apply).
//
// What the kernel cannot enforce is not applied and is reported in
// Applied.Warnings; a path that does not exist is skipped (which denies
// it, never allows more). If the kernel has no Landlock at all the error
// wraps ErrUnsupported.
func Apply(r Rules) (Applied, error) {
	var a Applied
	if err := r.Validate(); err != nil {
		return a, err
	}
	if r.Empty() {
		return a, nil
	}
	abi, err := ABI()
	if err != nil {
		return a, err
	}
	a.ABI = abi

	var handledFS, handledNet uint64
	if r.FS != nil {
		handledFS = fsRights(abi)
		if abi < 2 {
			a.warn("Landlock ABI %d: renaming or linking files across directories is always denied (ABI 2 lifts it)", abi)
		}
		if abi < 3 {
			a.warn("Landlock ABI %d cannot restrict truncate(2) (needs ABI 3): truncating is allowed everywhere", abi)
		}
		if abi < 5 {
			a.warn("Landlock ABI %d cannot restrict device ioctls (needs ABI 5): ioctls on devices are allowed", abi)
		}
	}
	if r.Net != nil {
		if abi < 4 {
			a.warn("Landlock ABI %d cannot restrict TCP ports (needs ABI 4, Linux 6.7): the network is NOT restricted", abi)
		} else {
			if !r.Net.AnyBind {
				handledNet |= netBindTCP
			}
			if !r.Net.AnyConnect {
				handledNet |= netConnTCP
			}
		}
	}
	if handledFS == 0 && handledNet == 0 {
		return a, nil
	}

	runtime.LockOSThread() // never unlocked: see the doc comment
	attr := [2]uint64{handledFS, handledNet}
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), attrSizeNoSc, 0)
	if e != 0 {
		return Applied{ABI: abi}, fmt.Errorf("landlock: creating the ruleset: %w", e)
	}
	defer unix.Close(int(fd))

	var applied Rules
	if handledNet != 0 {
		applied.Net = &Net{Bind: []uint16{}, Connect: []uint16{}, AnyBind: r.Net.AnyBind, AnyConnect: r.Net.AnyConnect}
		for _, p := range r.Net.Bind {
			if err := addPort(int(fd), netBindTCP, p); err != nil {
				return Applied{ABI: abi}, fmt.Errorf("landlock: bind:%d: %w", p, err)
			}
			applied.Net.Bind = append(applied.Net.Bind, p)
		}
		for _, p := range r.Net.Connect {
			if err := addPort(int(fd), netConnTCP, p); err != nil {
				return Applied{ABI: abi}, fmt.Errorf("landlock: connect:%d: %w", p, err)
			}
			applied.Net.Connect = append(applied.Net.Connect, p)
		}
	}
	if handledFS != 0 {
		applied.FS = &FS{RO: []string{}, RW: []string{}}
		for _, p := range r.FS.RO {
			ok, err := addPath(int(fd), p, readRights&handledFS)
			if err != nil {
				return Applied{ABI: abi}, fmt.Errorf("landlock: ro:%s: %w", p, err)
			}
			if ok {
				applied.FS.RO = append(applied.FS.RO, p)
			} else {
				a.warn("ro:%s does not exist: not applied (it stays inaccessible)", p)
			}
		}
		for _, p := range r.FS.RW {
			ok, err := addPath(int(fd), p, handledFS)
			if err != nil {
				return Applied{ABI: abi}, fmt.Errorf("landlock: rw:%s: %w", p, err)
			}
			if ok {
				applied.FS.RW = append(applied.FS.RW, p)
			} else {
				a.warn("rw:%s does not exist: not applied (it stays inaccessible)", p)
			}
		}
	}

	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		return Applied{ABI: abi}, fmt.Errorf("landlock: reading no_new_privs: %w", err)
	}
	_, _, e = unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0)
	if e == unix.EPERM && nnp == 0 {
		// Without CAP_SYS_ADMIN, Landlock requires no_new_privs.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return Applied{ABI: abi}, fmt.Errorf("landlock: setting no_new_privs: %w", err)
		}
		a.NoNewPrivs = true
		_, _, e = unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0)
	}
	if e != 0 {
		return Applied{ABI: abi}, fmt.Errorf("landlock: restricting the thread: %w", e)
	}
	a.Rules = applied
	return a, nil
}

func addPort(fd int, access uint64, port uint16) error {
	attr := [2]uint64{access, uint64(port)} // landlock_net_port_attr
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(fd), ruleNetPort, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// addPath allows access beneath path; false if path does not exist. A file
// (not a directory) only takes the rights that apply to files.
func addPath(fd int, path string, access uint64) (bool, error) {
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= fileRights
	}
	// landlock_path_beneath_attr is packed: u64 access, s32 fd.
	var attr [12]byte
	binary.NativeEndian.PutUint64(attr[:8], access)
	binary.NativeEndian.PutUint32(attr[8:], uint32(int32(pfd)))
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(fd), rulePath, uintptr(unsafe.Pointer(&attr[0])), 0, 0, 0)
	runtime.KeepAlive(attr)
	if e != 0 {
		return false, e
	}
	return true, nil
}
