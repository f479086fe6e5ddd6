package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is one finished command.
type Result struct {
	Wall      time.Duration
	User, Sys time.Duration
	// MaxRSS is ru_maxrss from wait4 in KiB: the peak RSS of the process
	// and of every descendant it waited for (the kernel keeps the largest).
	MaxRSS int64
	Out    string // stdout and stderr, trimmed
	Err    error
}

// CPU is user plus system time.
func (r Result) CPU() time.Duration { return r.User + r.Sys }

// Cmd describes a command to run and time.
type Cmd struct {
	Args    []string
	Env     []string // nil: the harness's environment
	Timeout time.Duration
	Setsid  bool
}

// Run starts c, waits for it and reads its rusage. The clock covers fork,
// exec and wait, the same for every program measured. Output goes to a
// file, not a pipe, so a detached grandchild that keeps stdout open cannot
// hold up the wait.
func Run(c Cmd) Result {
	out, err := os.CreateTemp("", "benchout")
	if err != nil {
		return Result{Err: err}
	}
	defer os.Remove(out.Name())
	defer out.Close()
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = c.Env
	cmd.Stdout, cmd.Stderr = out, out
	if c.Setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	spawn.Lock()
	start := time.Now()
	err = cmd.Start()
	if err == nil {
		spawn.owned[cmd.Process.Pid] = true
	}
	spawn.Unlock()
	if err == nil {
		err = cmd.Wait()
		spawn.Lock()
		delete(spawn.owned, cmd.Process.Pid)
		spawn.Unlock()
	}
	r := Result{Wall: time.Since(start), Err: err}
	if ru, ok := sysUsage(cmd.ProcessState); ok {
		r.User = time.Duration(ru.Utime.Nano())
		r.Sys = time.Duration(ru.Stime.Nano())
		r.MaxRSS = ru.Maxrss
	}
	if b, rerr := os.ReadFile(out.Name()); rerr == nil {
		r.Out = strings.TrimSpace(string(b))
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", c.Timeout)
		}
		r.Err = fmt.Errorf("%s: %w: %s", strings.Join(c.Args, " "), err, firstLines(r.Out, 3))
	}
	return r
}

func sysUsage(ps *os.ProcessState) (*syscall.Rusage, bool) {
	if ps == nil {
		return nil, false
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	return ru, ok && ru != nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " | ")
}

// spawn records the children Run is waiting for, so the reaper leaves
// them to os/exec.
var spawn = struct {
	sync.Mutex
	owned map[int]bool
}{owned: map[int]bool{}}

// Reap makes this process a subreaper that reaps its orphans at once, as
// systemd does as pid 1. Detached helpers (brig-monitor, conmon) end up as
// our children; some waits of brig and podman depend on them being reaped,
// and this VM's own pid 1 reaps late (seconds), which would be measured
// as brig's or podman's time. Children that Run waits for are left alone.
// Not for callers that wait4 a pid themselves (WaitExit).
func Reap() error {
	if err := Subreaper(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 64)
	signal.Notify(sig, syscall.SIGCHLD)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond) // in case signals merged
		defer tick.Stop()
		for {
			select {
			case <-sig:
			case <-tick.C:
			}
			reapOrphans()
		}
	}()
	return nil
}

func reapOrphans() {
	self := os.Getpid()
	spawn.Lock()
	defer spawn.Unlock()
	for _, pid := range children(self) {
		if spawn.owned[pid] {
			continue
		}
		if st, err := procStat(pid); err == nil && st.state == 'Z' {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// children lists pid's child processes from /proc/PID/task/*/children:
// an orphan is reparented to one thread of its reaper, any of them.
func children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// nsEnv marks the re-executed harness inside its mount namespace.
const nsEnv = "BRIG_BENCH_NS"

// Isolate re-executes the program in a private mount namespace and returns
// only there (the outer process exits with the inner one's status).
//
// Inside, on a hybrid cgroup host whose cgroup2 mount lists controllers,
// /dev/null is bound over that cgroup.controllers: crun refuses hybrid mode
// otherwise (../shared/notes/bench-anchors.md). Every runtime then runs in
// this same namespace with no wrapper of its own, so none pays for one, and
// a mount a runtime leaves behind shows in this process's mountinfo. The
// host's mounts are not touched.
func Isolate() error {
	if os.Getenv(nsEnv) == "1" {
		return hideHybridControllers()
	}
	if os.Geteuid() != 0 {
		return errors.New("the benchmarks run containers: run them as root")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Go makes / recursively private in the child after unshare(CLONE_NEWNS).
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		return fmt.Errorf("enter a private mount namespace: %w", err)
	}
	os.Exit(0)
	return nil
}

// hideHybridControllers bind-mounts /dev/null over the cgroup2
// cgroup.controllers of a hybrid host (cgroup v1 hierarchies next to a
// cgroup2 mount). On a pure v1 or pure v2 host it does nothing.
func hideHybridControllers() error {
	mounts, err := ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var v1 bool
	var v2 []string
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = append(v2, m.Point)
		}
	}
	if !v1 {
		return nil
	}
	for _, p := range v2 {
		f := filepath.Join(p, "cgroup.controllers")
		b, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := unix.Mount("/dev/null", f, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide %s (crun refuses hybrid cgroups otherwise): %w", f, err)
		}
	}
	return nil
}

// Subreaper makes this process the reaper of its orphaned descendants: the
// container init that a runtime's `create` leaves behind becomes our child,
// so wait4 gives its rusage, and any process a runtime leaks lands here
// where ChildProcs sees it.
func Subreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// WaitExit waits for pid to end. If pid is our child (we are its
// subreaper) it is reaped and its rusage returned; otherwise /proc is
// polled until it is gone or a zombie, and ok is false.
func WaitExit(pid int, timeout time.Duration) (ru unix.Rusage, ok bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, &ru)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			for !gone(pid) {
				if time.Now().After(deadline) {
					return ru, false, fmt.Errorf("pid %d still running after %v", pid, timeout)
				}
				time.Sleep(200 * time.Microsecond)
			}
			return ru, false, nil
		case err != nil:
			return ru, false, err
		case got == pid:
			return ru, true, nil
		}
		if time.Now().After(deadline) {
			return ru, false, fmt.Errorf("pid %d still running after %v", pid, timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func gone(pid int) bool {
	st, err := procStat(pid)
	return err != nil || st.state == 'Z' || st.state == 'X'
}

type stat struct {
	comm  string
	state byte
	ppid  int
}

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// The command name is in parentheses and may hold anything: parse
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	j := bytes.IndexByte(b, '(')
	if i < 0 || j < 0 || j > i {
		return stat{}, fmt.Errorf("/proc/%d/stat: no (comm)", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	return stat{comm: string(b[j+1 : i]), state: f[0][0], ppid: ppid}, nil
}

// Pids lists the processes in /proc.
func Pids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Cmdline is a process's argv joined by spaces ("" if gone).
func Cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// Status returns the named fields of /proc/PID/status as their first
// number (kB for the Vm* fields); missing fields are absent.
func Status(pid int, fields ...string) map[string]int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range fields {
		want[k] = true
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !want[k] {
			continue
		}
		if fs := strings.Fields(v); len(fs) > 0 {
			if n, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out
}

// Pss returns the proportional set size of pid in kB from smaps_rollup
// (-1 if unreadable): shared pages are split between their users, so Pss
// sums to real memory use where VmRSS counts shared pages again and again.
func Pss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Pss:"); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				n, err := strconv.ParseInt(fs[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// MemAvailable is /proc/meminfo's MemAvailable in kB (-1 if unreadable).
func MemAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				if n, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// MntNS is the mount namespace link of pid ("" if unreadable).
func MntNS(pid int) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	return s
}

// LoadAvg is the first field of /proc/loadavg.
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
