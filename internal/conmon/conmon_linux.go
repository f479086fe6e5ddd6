package conmon

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

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
