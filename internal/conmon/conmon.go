// Package conmon is brig's container monitor, in the spirit of podman's
// conmon: a small process per detached container that runs
// `brig-runtime create` (so, as a subreaper, it inherits the container's
// init), writes the container's output to its log, records the exit code
// and removes the runtime state. It imports nothing but the standard
// library and x/sys, and not even encoding/json, net or fmt: 500 of them
// may run at once, and every package linked in is resident memory.
package conmon

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit is how the container's main process ended (exit.json).
type Exit struct {
	Code       int       `json:"code"`
	FinishedAt time.Time `json:"finishedAt"`
	OOMKilled  bool      `json:"oomKilled"`
	Error      string    `json:"error,omitempty"`
}

// Config says what to monitor.
type Config struct {
	ID          string   `json:"id"`
	RuntimeBin  string   `json:"runtimeBin"`
	RuntimeRoot string   `json:"runtimeRoot"`
	Bundle      string   `json:"bundle"`
	LogPath     string   `json:"logPath"`
	ExitPath    string   `json:"exitPath"`
	TTY         bool     `json:"tty"`
	OnExit      []string `json:"onExit,omitempty"` // argv run after the exit is recorded (--rm)
	// Label is the container's SELinux file label, for its output FIFOs
	// (see OutputPipe); empty without SELinux.
	Label string `json:"label,omitempty"`
}

// Main runs a detached monitor from the config file at path. It reports
// "ok PID" or "error: MSG" on report, then waits for the container.
func Main(path string, report *os.File) int {
	b, err := os.ReadFile(path)
	if err != nil {
		say(report, "error: monitor config: "+err.Error())
		return 1
	}
	cfg, err := parseConfig(string(b))
	if err != nil {
		say(report, "error: monitor config: "+err.Error())
		return 1
	}
	dir := filepath.Dir(cfg.ExitPath)
	// Announce this monitor before anything else, so `brig rm -f` can find
	// and stop it whenever it runs; and give up if rm came first.
	if err := writeAtomic(filepath.Join(dir, "monitor.pid"), []byte(strconv.Itoa(os.Getpid()))); err != nil {
		say(report, "error: "+err.Error())
		return 1
	}
	lock, err := os.OpenFile(filepath.Join(dir, "monitor.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
	}
	if err != nil {
		say(report, "error: monitor lock: "+err.Error())
		return 1
	}
	if _, err := os.Stat(filepath.Join(dir, removedMarker)); err == nil {
		say(report, "error: the container is being removed")
		return 1
	}
	lf, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		say(report, "error: "+err.Error())
		return 1
	}
	log := &LogWriter{f: lf}
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	devnull, _ := os.Open(os.DevNull)
	pidFile := filepath.Join(dir, "init.pid")
	runLog := filepath.Join(dir, "runtime.log")
	os.Remove(runLog)
	args := []string{"--root", cfg.RuntimeRoot, "--log", runLog, "--log-format", "json", "create", "--bundle", cfg.Bundle, "--pid-file", pidFile}
	cmd := exec.Command(cfg.RuntimeBin, append(args, cfg.ID)...)
	cmd.Stdin = devnull
	var copies sync.WaitGroup
	var ptyc chan PtyResult
	if cfg.TTY {
		l, sock, cleanup, err := ListenTemp()
		if err != nil {
			say(report, "error: "+err.Error())
			return 1
		}
		defer cleanup()
		ptyc = make(chan PtyResult, 1)
		go func() { ptyc <- RecvPty(l) }()
		cmd.Args = append(cmd.Args[:len(cmd.Args)-1], "--console-socket", sock, cfg.ID)
		cmd.Stdout, cmd.Stderr = devnull, devnull
	} else {
		var ends []*os.File
		for _, stream := range []string{"stdout", "stderr"} {
			r, w, err := OutputPipe(dir, stream, cfg.Label)
			if err != nil {
				say(report, "error: "+err.Error())
				return 1
			}
			ends = append(ends, w)
			if stream == "stdout" {
				cmd.Stdout = w
			} else {
				cmd.Stderr = w
			}
			Copy(&copies, r, stream, log, nil)
		}
		defer func() {
			for _, w := range ends {
				w.Close()
			}
		}()
	}
	if err := cmd.Run(); err != nil {
		say(report, "error: "+runtimeError(runLog, err))
		return 1
	}
	if c, ok := cmd.Stdout.(*os.File); ok && c != devnull {
		c.Close()
		cmd.Stderr.(*os.File).Close()
	}
	pb, err := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pb)))
	if err != nil || pid <= 0 {
		say(report, "error: runtime wrote no pid file")
		return 1
	}
	var pty *os.File
	if ptyc != nil {
		res := <-ptyc
		if res.Err != nil {
			say(report, "error: "+res.Err.Error())
			return 1
		}
		pty = res.F
		Copy(&copies, pty, "stdout", log, nil)
	}
	say(report, "ok "+strconv.Itoa(pid))
	report.Close()
	devnull.Close()

	code := Reap(pid)
	exit := Exit{Code: code, FinishedAt: time.Now().UTC(), OOMKilled: oomKilled(cfg.RuntimeRoot, cfg.ID)}
	if pty != nil {
		go func() { time.Sleep(500 * time.Millisecond); pty.Close() }()
	}
	WaitCopies(&copies, 2*time.Second)
	del := exec.Command(cfg.RuntimeBin, "--root", cfg.RuntimeRoot, "delete", "--force", cfg.ID)
	if out, err := del.CombinedOutput(); err != nil {
		exit.Error = strings.TrimSpace(string(out))
	}
	log.Close()
	_ = writeAtomic(cfg.ExitPath, exit.JSON())
	// Done: nothing may kill this monitor as "still at work" any more,
	// least of all the `brig rm` it runs next.
	os.Remove(filepath.Join(dir, "monitor.pid"))
	lock.Close()
	if len(cfg.OnExit) > 0 {
		_ = exec.Command(cfg.OnExit[0], cfg.OnExit[1:]...).Run()
	}
	return 0
}

// runtimeError extracts the runtime's message from its JSON log.
func runtimeError(logPath string, err error) string {
	b, rerr := os.ReadFile(logPath)
	if rerr == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if jsonField(line, "level") == "error" {
				return jsonField(line, "msg")
			}
		}
	}
	return "brig-runtime create: " + err.Error()
}

// oomKilled reads the container's memory cgroup OOM counter from the
// runtime's state before the state is deleted.
func oomKilled(runtimeRoot, id string) bool {
	b, err := os.ReadFile(filepath.Join(runtimeRoot, id, "state.json"))
	if err != nil {
		return false
	}
	// The memory controller's directory and the v2 directory, found
	// without a JSON decoder (see the package comment).
	var files []string
	if i := strings.Index(string(b), `"cgroup":`); i >= 0 {
		cg := string(b[i:])
		if m := jsonField(cg, "memory"); m != "" {
			files = append(files, filepath.Join(m, "memory.oom_control"))
		}
		if v2 := jsonField(cg, "v2"); v2 != "" {
			files = append(files, filepath.Join(v2, "memory.events"))
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, " "); ok && k == "oom_kill" && v != "0" {
				return true
			}
		}
	}
	return false
}

// Copy sends one output stream to the log and, if out is set, to out.
func Copy(wg *sync.WaitGroup, r *os.File, stream string, log *LogWriter, out io.Writer) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer r.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				log.Write(stream, buf[:n])
				if out != nil {
					_, _ = out.Write(buf[:n])
				}
			}
			if err != nil {
				log.Flush(stream)
				return
			}
		}
	}()
}

// WaitCopies waits for the copies to drain; daemonised children of a
// --pid=host container may hold the pipes open, so it gives up after grace.
func WaitCopies(wg *sync.WaitGroup, grace time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
	}
}

// Reap waits for pid, reaping any other child (orphans reparented to this
// subreaper) along the way, and returns pid's status shell-style.
func Reap(pid int) int {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 255 // no children left: the init was not ours
		}
		if p != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// PtyResult is a pty master received on a console socket.
type PtyResult struct {
	F   *os.File
	Err error
}

// Listen opens a unix socket listener at path (raw syscalls: the net
// package alone would add a megabyte to every monitor).
func Listen(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// ListenTemp listens on a fresh socket in a private temporary directory.
// A unix socket path is limited to 108 bytes, which a path under a deep
// state root easily exceeds; the directory is 0700, so nobody else can
// connect first and hand over a fake terminal.
func ListenTemp() (fd int, path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "brig-console-")
	if err != nil {
		return -1, "", nil, err
	}
	path = filepath.Join(dir, "sock")
	fd, err = Listen(path)
	if err != nil {
		os.RemoveAll(dir)
		return -1, "", nil, err
	}
	return fd, path, func() { unix.Close(fd); os.RemoveAll(dir) }, nil
}

// RecvPty accepts one connection on the listener and takes the fd it
// carries (the --console-socket protocol).
func RecvPty(l int) PtyResult {
	c, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
	if err != nil {
		return PtyResult{Err: err}
	}
	defer unix.Close(c)
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(c, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return PtyResult{Err: err}
	}
	scms, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(scms) == 0 {
		return PtyResult{Err: errors.New("console socket: no fd received")}
	}
	fds, err := unix.ParseUnixRights(&scms[0])
	if err != nil || len(fds) == 0 {
		return PtyResult{Err: errors.New("console socket: no fd received")}
	}
	return PtyResult{F: os.NewFile(uintptr(fds[0]), "pty")}
}

// LogWriter writes Docker's json-file format: one JSON object per line of
// output, with its stream and time.
type LogWriter struct {
	mu      sync.Mutex
	f       *os.File
	partial map[string][]byte
}

// NewLogWriter appends to f.
func NewLogWriter(f *os.File) *LogWriter { return &LogWriter{f: f} }

// Write logs p, one record per complete line; a partial line waits for
// its end (or Flush).
func (l *LogWriter) Write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partial == nil {
		l.partial = map[string][]byte{}
	}
	buf := append(l.partial[stream], p...)
	for {
		i := strings.IndexByte(string(buf), '\n')
		if i < 0 {
			break
		}
		l.emit(stream, buf[:i+1])
		buf = buf[i+1:]
	}
	if len(buf) > 16<<10 { // Docker splits long lines at 16 KiB too
		l.emit(stream, buf)
		buf = nil
	}
	l.partial[stream] = append([]byte(nil), buf...)
}

// Flush writes a pending partial line.
func (l *LogWriter) Flush(stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.partial[stream]; len(b) > 0 {
		l.emit(stream, b)
		l.partial[stream] = nil
	}
}

func (l *LogWriter) emit(stream string, b []byte) {
	line := make([]byte, 0, len(b)+80)
	line = append(line, `{"log":`...)
	line = appendJSONString(line, string(b))
	line = append(line, `,"stream":`...)
	line = appendJSONString(line, stream)
	line = append(line, `,"time":"`...)
	line = time.Now().UTC().AppendFormat(line, time.RFC3339Nano)
	line = append(line, "\"}\n"...)
	_, _ = l.f.Write(line)
}

// Close closes the log file.
func (l *LogWriter) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Close()
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removedMarker in a container's directory tells a monitor that has not
// started its work yet not to start it.
const removedMarker = "removing"

// Fence makes sure no monitor works on the container in dir any more: a
// monitor still starting sees the marker and gives up, a running one is
// killed, and Fence returns once none holds the monitor lock.
func Fence(dir string) {
	if err := os.WriteFile(filepath.Join(dir, removedMarker), nil, 0o600); err != nil {
		return // the directory is gone: so is any monitor's work
	}
	Kill(dir)
	lock, err := os.OpenFile(filepath.Join(dir, "monitor.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	defer lock.Close()
	for i := 0; i < 5000; i++ {
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			return
		}
		Kill(dir) // it announced itself after the first Kill looked
		time.Sleep(time.Millisecond)
	}
}

// Kill stops the monitor of the container whose files are in dir, with
// everything in its process group (a `brig-runtime create` in flight).
func Kill(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "monitor.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), filepath.Join(dir, "monitor.json")) {
		return // gone, or the pid now belongs to someone else
	}
	// Wait until the group is dead: a `brig-runtime create` that outlived
	// its monitor could still write state after our cleanup. Zombies
	// count as dead (their parent, possibly a slow pid 1, reaps them).
	for i := 0; i < 2000; i++ {
		if err := unix.Kill(-pid, unix.SIGKILL); err == unix.ESRCH || !groupAlive(pid) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// groupAlive reports whether process group pgid has a member that is not
// a zombie.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		f := strings.Fields(s[i+2:]) // state ppid pgrp ...
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

// Spawn starts a detached brig-monitor and waits until the container is
// created (or creating it failed). The monitor has its own session so it
// outlives the brig command.
func Spawn(monitorBin string, cfg Config, configPath string) (int, error) {
	if err := writeAtomic(configPath, []byte(cfg.encode())); err != nil {
		return 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := exec.Command(monitorBin, configPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GOGC=25", "GOMAXPROCS=1"}
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, errors.New("start monitor: " + err.Error())
	}
	w.Close()
	msg, _ := io.ReadAll(r)
	_ = cmd.Process.Release()
	s := string(msg)
	if p, ok := strings.CutPrefix(s, "ok "); ok {
		pid, _ := strconv.Atoi(p)
		return pid, nil
	}
	if m, ok := strings.CutPrefix(s, "error: "); ok {
		return 0, errors.New(m)
	}
	return 0, errors.New("the container monitor exited before creating the container")
}
