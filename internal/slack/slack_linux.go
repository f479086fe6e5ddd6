package slack

import (
	"strconv"
	"syscall"
)

// Plain syscall, not golang.org/x/sys/unix: package early's init, which
// calls Stretch, then runs before the packages that unix needs.
const (
	prSetTimerslack = 29 // PR_SET_TIMERSLACK
	prGetTimerslack = 30 // PR_GET_TIMERSLACK
)

// Original is the calling thread's timer slack when Stretch ran: the one
// this process started with, for a container process to have.
var Original uint64

// Stretch records Original and gives sysmon the timer slack Slack. It
// must run on the main thread: package early calls it during package
// initialisation, where the runtime keeps the main goroutine there.
//
// sysmon is the first thread the runtime starts, before any other
// thread exists: so, unless another process took the id in between, the
// one whose id follows the main thread's. Ids are those of the pid
// namespace /proc belongs to, which may not be this process's (an init
// in a new pid namespace still sees the host's /proc): a guess is only
// taken once /proc/self/task shows it is a thread of this process.
// Nothing here is essential: without /proc or CAP_SYS_NICE (a rootless
// runtime) sysmon keeps its slack.
func Stretch() {
	if v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerslack, 0, 0); errno == 0 && v > 0 {
		Original = uint64(v)
	}
	pid := syscall.Getpid()
	tid := ours(pid + 1)
	if tid == 0 {
		var link [32]byte
		n, err := syscall.Readlink("/proc/self", link[:])
		if err != nil {
			return
		}
		self, err := strconv.Atoi(string(link[:n]))
		if err != nil {
			return
		}
		if self != pid {
			tid = ours(self + 1)
		}
		if tid == 0 {
			tid = firstThread(self)
		}
	}
	if tid <= 0 {
		return
	}
	// /proc/TID, not /proc/self/task/TID, has the file. The id cannot go
	// to another process in between: Go never ends a thread of its own
	// unless a goroutine locked to it exits, and none has run yet.
	f, err := syscall.Open("/proc/"+strconv.Itoa(tid)+"/timerslack_ns", syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	_, _ = syscall.Write(f, []byte(strconv.Itoa(Slack)))
	syscall.Close(f)
}

// ours returns tid if /proc shows it is a thread of this process, else 0.
func ours(tid int) int {
	if syscall.Access("/proc/self/task/"+strconv.Itoa(tid), 0) != nil {
		return 0
	}
	return tid
}

// Restore sets the calling thread's timer slack back to Original (or to
// v, if it is not zero): a process exec'd from it inherits its slack.
func Restore(v uint64) error {
	if v == 0 {
		v = Original
	}
	if v == 0 {
		return nil
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, uintptr(v), 0); errno != 0 {
		return errno
	}
	return nil
}

// firstThread returns the thread of process self created first after
// its main thread, or 0.
func firstThread(self int) int {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(self)+"/task", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer syscall.Close(fd)
	var buf [2048]byte
	n, err := syscall.ReadDirent(fd, buf[:])
	if err != nil {
		return 0
	}
	_, _, names := syscall.ParseDirent(buf[:n], -1, nil)
	var tids []int
	for _, name := range names {
		if id, err := strconv.Atoi(name); err == nil && id != self {
			tids = append(tids, id)
		}
	}
	return first(self, tids)
}

// first picks, from the ids of threads made after self, the earliest
// made: the smallest above self, or if ids wrapped, the smallest.
func first(self int, tids []int) int {
	above, any := 0, 0
	for _, t := range tids {
		if t > self && (above == 0 || t < above) {
			above = t
		}
		if any == 0 || t < any {
			any = t
		}
	}
	if above != 0 {
		return above
	}
	return any
}
