package tinyinit

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Main runs `/dev/init -- CMD ARGS...` and exits with CMD's status.
func Main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "init: usage: /dev/init -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	// The child is forked from the main thread: brig-runtime gives its
	// sysmon a long timer slack (internal/slack), which threads sysmon
	// starts inherit, and a process inherits the slack of the thread that
	// forked it.
	runtime.LockOSThread()
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The child gets its own process group so terminal signals reach it
	// the way they would reach a shell's foreground job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Foreground: isTerminal()}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(127)
	}
	pid := cmd.Process.Pid
	for s := range sigs {
		if s != unix.SIGCHLD {
			_ = unix.Kill(-pid, s.(syscall.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if p <= 0 || err != nil {
				break
			}
			if p == pid {
				if ws.Signaled() {
					os.Exit(128 + int(ws.Signal()))
				}
				os.Exit(ws.ExitStatus())
			}
		}
	}
}

func isTerminal() bool {
	_, err := unix.IoctlGetTermios(0, unix.TCGETS)
	return err == nil
}
