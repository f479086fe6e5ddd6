package monitor

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/brigrt/brig/internal/conmon"
	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/runtime"
	"golang.org/x/sys/unix"
)

// Monitor is one created container.
type Monitor struct {
	cfg    Config
	rt     *runtime.Runtime
	st     *runtime.State
	log    *conmon.LogWriter
	copies sync.WaitGroup
	pty    *os.File
	att    Attach
}

// Create makes the container (its init waits for Start) and begins
// copying its output.
func Create(cfg Config, att Attach) (*Monitor, error) {
	m := &Monitor{cfg: cfg, att: att, rt: &runtime.Runtime{Store: runtime.Store{Root: cfg.RuntimeRoot}, InitBinary: cfg.InitBinary}}
	lf, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	m.log = conmon.NewLogWriter(lf)
	// Orphans of a --pid=host container are reparented here, and reaped.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	opts := runtime.CreateOpts{Bundle: cfg.Bundle, Stdin: att.Stdin}
	if opts.Stdin == nil {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		defer devnull.Close()
		opts.Stdin = devnull
	}
	var closeAfter []*os.File
	var ptyc chan conmon.PtyResult
	if cfg.TTY {
		l, sock, cleanup, err := conmon.ListenTemp()
		if err != nil {
			return nil, err
		}
		defer cleanup()
		ptyc = make(chan conmon.PtyResult, 1)
		go func() { ptyc <- conmon.RecvPty(l) }()
		opts.ConsoleSocket = sock
	} else {
		for _, stream := range []string{"stdout", "stderr"} {
			r, w, err := conmon.OutputPipe(filepath.Dir(cfg.ExitPath), stream, cfg.Label)
			if err != nil {
				return nil, err
			}
			closeAfter = append(closeAfter, w)
			if stream == "stdout" {
				opts.Stdout = w
			} else {
				opts.Stderr = w
			}
			m.copy(r, stream)
		}
	}
	st, err := m.rt.Create(cfg.ID, opts)
	for _, f := range closeAfter {
		f.Close() // the container holds its own copies now
	}
	if err != nil {
		lf.Close()
		return nil, err
	}
	m.st = st
	if ptyc != nil {
		res := <-ptyc
		if res.Err != nil {
			_ = m.rt.Delete(cfg.ID, true)
			return nil, res.Err
		}
		m.pty = res.F
		m.copy(m.pty, "stdout")
		if att.Term != nil {
			syncSize(att.Term, m.pty)
		}
	}
	return m, nil
}

// Pid is the container init's host pid.
func (m *Monitor) Pid() int { return m.st.Pid }

// Start releases the container.
func (m *Monitor) Start() error { return m.rt.Start(m.cfg.ID) }

// copy sends one output stream to the log and, when attached, the terminal.
func (m *Monitor) copy(r *os.File, stream string) {
	out := m.att.Stdout
	if stream == "stderr" {
		out = m.att.Stderr
	}
	if out == nil {
		conmon.Copy(&m.copies, r, stream, m.log, nil)
		return
	}
	conmon.Copy(&m.copies, r, stream, m.log, out)
}

// Wait blocks until the container's init exits, records the exit, removes
// the runtime state (processes, cgroups) and runs OnExit.
func (m *Monitor) Wait() container.Exit {
	var restore func()
	if m.pty != nil && m.att.Term != nil {
		// The pty's output already goes to the terminal through m.copy.
		restore = attachInput(m.att.Term, m.att.Stdin, m.pty)
	}
	// Signals sent to brig are passed on to the container (docker's
	// sig-proxy), except when a terminal sends them through the pty.
	sigs := make(chan os.Signal, 8)
	if m.att.Stdout != nil {
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		go func() {
			for s := range sigs {
				_ = m.rt.Kill(m.cfg.ID, s.(syscall.Signal), false)
			}
		}()
	}
	code := conmon.Reap(m.st.Pid)
	signal.Stop(sigs)
	if restore != nil {
		restore()
	}
	exit := container.Exit{Code: code, FinishedAt: time.Now().UTC()}
	if n, err := m.rt.OOMKills(m.st); err == nil && n > 0 {
		exit.OOMKilled = true
	}
	if m.pty != nil {
		// The pty master reads EIO once every slave fd is closed.
		go func() { time.Sleep(500 * time.Millisecond); m.pty.Close() }()
	}
	conmon.WaitCopies(&m.copies, 2*time.Second)
	if err := m.rt.Delete(m.cfg.ID, true); err != nil {
		exit.Error = err.Error()
	}
	m.log.Close()
	b, _ := json.Marshal(exit)
	_ = rawio.WriteFileAtomic(m.cfg.ExitPath, b, 0o600)
	if len(m.cfg.OnExit) > 0 {
		cmd := exec.Command(m.cfg.OnExit[0], m.cfg.OnExit[1:]...)
		_ = cmd.Run()
	}
	return exit
}

// rawMode puts the terminal in raw mode and returns the function that
// restores it.
func rawMode(t *os.File) func() {
	old, err := unix.IoctlGetTermios(int(t.Fd()), unix.TCGETS)
	if err != nil {
		return func() {}
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	_ = unix.IoctlSetTermios(int(t.Fd()), unix.TCSETS, &raw)
	return func() { _ = unix.IoctlSetTermios(int(t.Fd()), unix.TCSETS, old) }
}

func syncSize(from, to *os.File) {
	if ws, err := unix.IoctlGetWinsize(int(from.Fd()), unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(int(to.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Console listens on a unix socket for a runtime's pty master (the
// --console-socket protocol). recv blocks until the master arrives.
func Console() (path string, recv func() (*os.File, error), closeFn func(), err error) {
	l, path, cleanup, err := conmon.ListenTemp()
	if err != nil {
		return "", nil, nil, err
	}
	c := make(chan conmon.PtyResult, 1)
	go func() { c <- conmon.RecvPty(l) }()
	recv = func() (*os.File, error) { r := <-c; return r.F, r.Err }
	return path, recv, cleanup, nil
}

// Terminal copies between the user's terminal and a container pty until
// the process ends; the returned function restores the terminal.
func Terminal(term *os.File, pty *os.File) func() {
	restore := attachInput(term, term, pty)
	go func() { _, _ = io.Copy(os.Stdout, pty) }()
	return restore
}

// attachInput puts term in raw mode, copies in to the pty and keeps the
// pty's window size in step with term's; the returned function undoes it.
func attachInput(term, in, pty *os.File) func() {
	restore := rawMode(term)
	syncSize(term, pty)
	go func() { _, _ = io.Copy(pty, in) }()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		for range winch {
			syncSize(term, pty)
		}
	}()
	return func() { signal.Stop(winch); restore() }
}
