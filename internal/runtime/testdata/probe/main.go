// Command probe runs inside test containers. Each argument names a check;
// it prints one JSON object {check: "ok" | errno name} per check, so tests
// read the kernel's verdict, not the runtime's own report.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var ops = map[string]func() error{
	// A file owned by uid 1 is prepared by the test at /probe-data/f (mode 0).
	"CAP_CHOWN":        func() error { return unix.Chown("/probe-data/f", 2, 2) },
	"CAP_DAC_OVERRIDE": func() error { return openW("/probe-data/f") },
	"CAP_DAC_READ_SEARCH": func() error {
		// Searching a 0 directory without DAC_OVERRIDE needs DAC_READ_SEARCH.
		_, err := os.ReadDir("/probe-data/d")
		return err
	},
	"CAP_FOWNER": func() error { return unix.Chmod("/probe-data/f", 0) },
	"CAP_FSETID": func() error {
		// chmod g+s on a file whose group we are not in clears S_ISGID
		// silently unless FSETID; the check reads the mode back.
		if err := unix.Chmod("/probe-data/g", 0o2755); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Stat("/probe-data/g", &st); err != nil {
			return err
		}
		if st.Mode&unix.S_ISGID == 0 {
			return unix.EPERM
		}
		return nil
	},
	"CAP_KILL":    func() error { return unix.Kill(victim(), 0) },
	"CAP_SETGID":  func() error { return rawSet(unix.SYS_SETRESGID, 1000) },
	"CAP_SETUID":  func() error { return rawSet(unix.SYS_SETRESUID, 1000) },
	"CAP_SETPCAP": func() error { return unix.Prctl(unix.PR_CAPBSET_DROP, 40, 0, 0, 0) },
	"CAP_NET_BIND_SERVICE": func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Bind(fd, &unix.SockaddrInet4{Port: 80, Addr: [4]byte{127, 0, 0, 1}})
	},
	"CAP_NET_RAW": func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		return err
	},
	"CAP_NET_ADMIN": func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifr, _ := unix.NewIfreq("lo")
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
			return err
		}
		return unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr) // same MTU: a no-op that needs the cap
	},
	"CAP_SYS_CHROOT": func() error { return unix.Chroot("/") },
	"CAP_MKNOD":      func() error { return unix.Mknod("/probe-data/null2", unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) },
	"CAP_SETFCAP": func() error {
		// A v2 file capability xattr granting nothing: needs CAP_SETFCAP.
		v := []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		return unix.Setxattr("/probe-data/g", "security.capability", v, 0)
	},
	"CAP_SYS_TIME": func() error {
		var tx unix.Timex
		if _, err := unix.Adjtimex(&tx); err != nil {
			return err
		}
		tx = unix.Timex{Modes: unix.ADJ_TICK, Tick: tx.Tick} // set the current value again
		_, err := unix.Adjtimex(&tx)
		return err
	},
	"CAP_SYS_ADMIN": func() error {
		h, _ := os.Hostname()
		return unix.Sethostname([]byte(h))
	},
	"CAP_SYS_BOOT": func() error {
		// In a child pid namespace the cap check comes first; past it,
		// CAD_OFF is EINVAL, which counts as "allowed".
		err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
		if errors.Is(err, unix.EINVAL) {
			return nil
		}
		return err
	},
	"CAP_SYS_NICE": func() error { return unix.Setpriority(unix.PRIO_PROCESS, 0, -5) },
	"CAP_IPC_LOCK": func() error {
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
			return err
		}
		b := make([]byte, 4096)
		return unix.Mlock(b)
	},
	"CAP_SYS_PACCT": func() error {
		_, _, e := unix.Syscall(unix.SYS_ACCT, 0, 0, 0)
		return errno(e)
	},
	"CAP_SYS_MODULE": func() error {
		// finit_module(-1): EBADF once past the capability check.
		_, _, e := unix.Syscall(unix.SYS_FINIT_MODULE, ^uintptr(0), uintptr(unsafe.Pointer(&[]byte{0}[0])), 0)
		if e == unix.EBADF {
			return nil
		}
		return errno(e)
	},
	"CAP_LEASE": func() error {
		f, err := os.Open("/probe-data/lease") // owned by uid 1
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_RDLCK)
		return err
	},
	"CAP_AUDIT_WRITE": func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		msg := make([]byte, 16+8)
		*(*uint32)(unsafe.Pointer(&msg[0])) = uint32(len(msg))
		*(*uint16)(unsafe.Pointer(&msg[4])) = 1107 // AUDIT_USER_MSG
		*(*uint16)(unsafe.Pointer(&msg[6])) = unix.NLM_F_REQUEST | unix.NLM_F_ACK
		if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		buf := make([]byte, 256)
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		if n >= 20 {
			if e := int32(*(*uint32)(unsafe.Pointer(&buf[16]))); e < 0 {
				return syscall.Errno(-e)
			}
		}
		return nil
	},
}

func openW(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	return err
}

func rawSet(nr uintptr, id uintptr) error {
	// Raw syscall on this thread only: Go's wrappers would change every
	// thread and the probe must stay root for the remaining checks.
	_, _, e := unix.RawSyscall(nr, ^uintptr(0), id, ^uintptr(0))
	if e == 0 {
		// Undo it on this thread.
		unix.RawSyscall(nr, ^uintptr(0), 0, ^uintptr(0))
	}
	return errno(e)
}

func errno(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// victim is a process of another uid that the test started in the container.
func victim() int {
	b, _ := os.ReadFile("/probe-data/victim.pid")
	var pid int
	fmt.Sscan(strings.TrimSpace(string(b)), &pid)
	return pid
}

func main() {
	out := map[string]string{}
	for _, a := range os.Args[1:] {
		switch {
		case a == "status":
			b, _ := os.ReadFile("/proc/self/status")
			out[a] = string(b)
		case a == "fds":
			// The directory stays open while reading, so its own fd can be
			// told apart from the ones the container inherited.
			// Raw open: os.Open would start Go's netpoller (epoll + eventfd fds).
			dfd, _ := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			dir := os.NewFile(uintptr(dfd), "fd")
			ents, _ := dir.Readdirnames(-1)
			var names []string
			for _, e := range ents {
				if e == fmt.Sprint(dir.Fd()) {
					continue
				}
				t, _ := os.Readlink("/proc/self/fd/" + e)
				names = append(names, e+"="+t)
			}
			dir.Close()
			out[a] = strings.Join(names, " ")
		case a == "cwd":
			wd, err := os.Getwd()
			out[a] = wd
			if err != nil {
				out[a] = "error: " + err.Error()
			}
		case strings.HasPrefix(a, "write:"):
			out[a] = verdict(os.WriteFile(strings.TrimPrefix(a, "write:"), []byte("x"), 0o644))
		case strings.HasPrefix(a, "read:"):
			b, err := os.ReadFile(strings.TrimPrefix(a, "read:"))
			out[a] = verdict(err)
			if err == nil {
				out[a] = "ok:" + string(b)
			}
		case a == "mountinfo":
			b, _ := os.ReadFile("/proc/self/mountinfo")
			out[a] = string(b)
		default:
			op, ok := ops[a]
			if !ok {
				out[a] = "unknown check"
				continue
			}
			out[a] = verdict(op())
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func verdict(err error) string {
	if err == nil {
		return "ok"
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return unix.ErrnoName(e)
	}
	return err.Error()
}
