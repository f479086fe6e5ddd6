package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs p on the calling thread with seccomp(2), falling back to
// prctl(PR_SET_SECCOMP) on kernels without seccomp(2) when no flags are
// needed.
//
// Seccomp filters are per thread (unless p.Flags has TSYNC), so the caller
// must hold runtime.LockOSThread and execve on this same thread right after
// Load; the new program inherits the filter. The thread needs
// no_new_privs (prctl PR_SET_NO_NEW_PRIVS) or CAP_SYS_ADMIN; Load does not
// set no_new_privs itself because that is the config's decision.
//
// For a filter that Notifies, Load returns the listener fd (close-on-exec)
// for the seccomp agent; otherwise -1.
func Load(p *Program) (int, error) {
	var _ [unsafe.Sizeof(Instruction{}) - unsafe.Sizeof(unix.SockFilter{})]byte
	var _ [unsafe.Sizeof(unix.SockFilter{}) - unsafe.Sizeof(Instruction{})]byte
	if p == nil || len(p.Filter) == 0 {
		return -1, errors.New("seccomp: empty program")
	}
	if len(p.Filter) > maxInsns {
		return -1, fmt.Errorf("seccomp: program has %d instructions, the kernel allows %d", len(p.Filter), maxInsns)
	}
	// Instruction has struct sock_filter's layout (see the size check).
	prog := unix.SockFprog{Len: uint16(len(p.Filter)), Filter: (*unix.SockFilter)(unsafe.Pointer(&p.Filter[0]))}
	r1, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	if errno == unix.ENOSYS && p.Flags == 0 {
		err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
		errno, _ = err.(unix.Errno)
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(&prog)
	switch {
	case errno == 0 && p.Notifies():
		return int(r1), nil
	case errno == 0 && r1 != 0 && p.Flags&flagTSync != 0:
		// TSYNC reports the thread it could not synchronize.
		return -1, fmt.Errorf("seccomp: loading filter: TSYNC failed for thread %d (it has an incompatible filter)", r1)
	case errno == 0:
		return -1, nil
	case errno == unix.EACCES:
		return -1, fmt.Errorf("seccomp: loading filter: %w (set no_new_privs or keep CAP_SYS_ADMIN until the filter is loaded)", errno)
	case errno == unix.EINVAL && p.Flags != 0:
		return -1, fmt.Errorf("seccomp: loading filter: %w (the kernel may not support flags %#x)", errno, p.Flags)
	case errno == unix.ENOSYS && p.Flags != 0:
		return -1, fmt.Errorf("seccomp: loading filter: %w (kernel without seccomp(2), needed for flags %#x)", errno, p.Flags)
	case errno == unix.ENOSYS || errno == unix.EINVAL:
		return -1, fmt.Errorf("seccomp: loading filter: %w (kernel without seccomp filter support?)", errno)
	}
	return -1, fmt.Errorf("seccomp: loading filter: %w", errno)
}
