package runtime

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// initProc starts a re-executed init: os/exec's Cmd, reduced to what the
// runtime uses. It goes through syscall.StartProcess, as os.StartProcess
// does underneath, but skips the os package's first-use probe of whether
// pidfds work, which forks and reaps a child of its own: about 0.15 ms of
// CPU per container, for a pidfd the runtime never uses.
type initProc struct {
	Path                  string
	Args, Env             []string
	Stdin, Stdout, Stderr *os.File
	ExtraFiles            []*os.File
	SysProcAttr           *syscall.SysProcAttr
	Process               *child // set by Start
}

func (c *initProc) Start() error {
	files := append([]*os.File{c.Stdin, c.Stdout, c.Stderr}, c.ExtraFiles...)
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, _, err := syscall.StartProcess(c.Path, c.Args, &syscall.ProcAttr{Env: c.Env, Files: fds, Sys: c.SysProcAttr})
	runtime.KeepAlive(files)
	if err != nil {
		return &os.PathError{Op: "fork/exec", Path: c.Path, Err: err}
	}
	c.Process = &child{Pid: pid}
	return nil
}

// child is a process this one started and has not reaped, so its pid
// cannot be reused meanwhile: signalling it by pid is safe.
type child struct{ Pid int }

func (p *child) Signal(sig unix.Signal) error { return unix.Kill(p.Pid, sig) }

func (p *child) Kill() error { return p.Signal(unix.SIGKILL) }

// Wait reaps the child.
func (p *child) Wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.Pid, &ws, 0, nil)
		if err != unix.EINTR {
			return ws, err
		}
	}
}
