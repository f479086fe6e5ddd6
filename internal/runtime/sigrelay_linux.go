package runtime

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Signals for the relay, without os/signal.
//
// os/signal registers each signal with a round trip to Go's signal-mask
// thread, and on this host that is about 23 µs of CPU for each of the 65:
// 1.5 ms, a tenth of a whole `brig-runtime run`. crun relays with a
// signalfd, which Go cannot use (it unblocks SIGTERM, SIGINT and SIGHUP
// on every thread). So in a process that leaves the signals to the relay
// (OwnSignals), the relay installs a handler of its own, in assembly
// (amd64; elsewhere it keeps os/signal): it writes the signal's number to
// a pipe, and one goroutine reads the pipe and hands each signal to the
// relays listening. Installing it is one rt_sigaction per signal.
//
// It takes the signals os/signal would deliver to a program, minus those
// the Go runtime needs: the synchronous ones (SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGTRAP, SIGSYS, SIGSTKFLT), SIGPROF, SIGURG (preemption),
// SIGCHLD (which the relays ignore anyway), and 32 and 33, which the C
// library keeps for itself.
//
// SIGPIPE is taken too (the relays ignore it), so a write to a closed
// pipe is an EPIPE error rather than the death of a runtime with a
// container to delete. Only os.Stdout and os.Stderr still kill the program
// on EPIPE (os.epipecheck): OwnSignals programs write their messages
// through rawio.FD.
//
// Once taken, a signal stays with this handler for the life of the
// process: os/signal cannot get it back (Go only reinstalls its own
// handler for a signal it has never handled), hence OwnSignals.
var relaySignals = []unix.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGABRT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGALRM, unix.SIGTERM, unix.SIGCONT, unix.SIGTSTP,
	unix.SIGTTIN, unix.SIGTTOU, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM,
	unix.SIGWINCH, unix.SIGIO, unix.SIGPWR, unix.SIGPIPE,
	// 34 to 64: the real-time signals.
}

const sigrtmin, sigrtmax = 34, 64

// relayFd is the pipe the handler writes to. It is set before the handler
// is installed and never closed.
//
//lint:ignore U1000 read by the handler, in assembly
var relayFd int32 = -1

var (
	ownSignals bool
	sigs       struct {
		once sync.Once
		ok   bool // the handler is installed
		mu   sync.Mutex
		subs map[chan<- os.Signal]bool
	}
)

// OwnSignals lets the relay take the signals it passes on away from
// os/signal. brig-runtime calls it: nothing else in that process uses
// os/signal, and it writes its messages through rawio.FD. A program that
// uses os/signal (brig's own exec watches SIGWINCH) must not.
func OwnSignals() { ownSignals = true }

// ownHandler reports whether the relay's own handler is installed,
// installing it on first use in an OwnSignals process.
func ownHandler() bool {
	if ownSignals {
		sigs.once.Do(func() { sigs.ok = installHandler() })
	}
	return sigs.ok
}

// subscribe has ch receive, for the rest of the process's life, every
// signal the handler takes. Delivery never blocks: a full ch misses
// signals, as with os/signal.
func subscribe(ch chan os.Signal) {
	sigs.mu.Lock()
	sigs.subs[ch] = true
	sigs.mu.Unlock()
}

// sigaction is the kernel's struct sigaction on amd64.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	saRestart  = 0x10000000
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)

func installHandler() bool {
	handler, restorer := handlerAddrs()
	if handler == 0 {
		return false
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return false
	}
	relayFd = int32(p[1])
	sigs.subs = map[chan<- os.Signal]bool{}
	r := os.NewFile(uintptr(p[0]), "signals") // non-blocking: read parks in the netpoller
	go dispatch(r)
	act := sigaction{handler: handler, flags: saOnstack | saRestart | saRestorer, restorer: restorer, mask: ^uint64(0)}
	install := func(s unix.Signal) {
		// Only fails for an invalid signal number.
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
	for _, s := range relaySignals {
		install(s)
	}
	for s := sigrtmin; s <= sigrtmax; s++ {
		install(unix.Signal(s))
	}
	return true
}

func dispatch(r *os.File) {
	var buf [64]byte
	for {
		n, err := r.Read(buf[:])
		if err != nil {
			return
		}
		sigs.mu.Lock()
		for _, b := range buf[:n] {
			for ch := range sigs.subs {
				select {
				case ch <- syscall.Signal(b):
				default:
				}
			}
		}
		sigs.mu.Unlock()
	}
}
