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
	// While the group's leader (the monitor) lives, so does the group: one
	// stat file instead of every process on the host, which made rm -f
	// slower the more containers ran.
	if state, pgrp, ok := procStat(strconv.Itoa(pgid)); ok && pgrp == pgid && state != "Z" && state != "X" {
		return true
	}
	// Otherwise every process is a candidate. getpgid(2) answers for each
	// with a system call; /proc/PID/stat, which the kernel generates at
	// some 20 us a process, is read only for the group's members.
	d, err := os.Open("/proc")
	if err != nil {
		return true
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return true
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if g, err := unix.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		if state, pgrp, ok := procStat(name); ok && pgrp == pgid && state != "Z" && state != "X" {
			return true
		}
	}
	return false
}

// procStat reads a process's state and process group from /proc/PID/stat.
func procStat(pid string) (state string, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return "", 0, false
	}
	f := strings.Fields(s[i+2:]) // state ppid pgrp ...
	if len(f) < 3 {
		return "", 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	return f[0], pgrp, err == nil
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
