package runtime

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// relay passes the signals this process receives on to a container's
// process, as runc does for a foreground run or exec. It is never
// unsubscribed: its users (brig-runtime run and exec, brig exec) exit once
// the process is gone, and a signal that comes while they clean up is
// swallowed rather than fatal.
//
// With its own signal handler (OwnSignals, see sigrelay_linux.go) a relay
// is ready at once. Otherwise it registers with os/signal, which costs
// about a millisecond and a half: that happens in the background while
// the container's init starts up, and ready says when it is done.
type relay struct {
	ch    chan os.Signal
	ready chan struct{}
}

func startRelay() *relay {
	r := &relay{ch: make(chan os.Signal, 32), ready: make(chan struct{})}
	if ownHandler() {
		subscribe(r.ch)
		close(r.ready)
		return r
	}
	go func() {
		signal.Notify(r.ch)
		close(r.ready)
	}()
	return r
}

// ignored are the signals that concern this process only.
func ignored(s os.Signal) bool {
	return s == unix.SIGCHLD || s == unix.SIGURG || s == unix.SIGPIPE
}

// interrupted returns a signal that arrived before the container started,
// if any: the caller then undoes the create rather than deliver it late.
// It waits for the registration first, so from here on every signal is
// either seen here or relayed.
func (r *relay) interrupted() os.Signal {
	<-r.ready
	for {
		select {
		case s := <-r.ch:
			if !ignored(s) && s != unix.SIGWINCH {
				return s
			}
		default:
			return nil
		}
	}
}

// wait relays signals to p, a child of this process, until it exits and
// returns its exit status the way a shell reports it.
func (r *relay) wait(p *child) (int, error) {
	<-r.ready
	type exit struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan exit, 1)
	go func() {
		ws, err := p.Wait()
		done <- exit{ws, err}
	}()
	for {
		select {
		case s := <-r.ch:
			if sig, ok := s.(syscall.Signal); ok && !ignored(s) {
				_ = p.Signal(sig)
			}
		case x := <-done:
			if x.err != nil {
				return 255, nil
			}
			return exitStatus(x.ws), nil
		}
	}
}

func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
