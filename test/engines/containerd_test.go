//go:build integration

package engines

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ctrNS is the containerd namespace of every container here; containerd
// also names the containers' parent cgroup after it, so it is unique per
// run: concurrent runs of this suite share the host's cgroups.
var ctrNS = fmt.Sprintf("brig-engines-%d", os.Getpid())

// A private containerd: config, root, state and sockets under tmpDir, the
// CRI plugin off. Started by the first test that needs it, stopped by
// TestMain.
var ctrd struct {
	once sync.Once
	err  error
	dir  string
	sock string
	cmd  *exec.Cmd
	done chan error
	bins map[string]string // runtime name -> binary for --runc-binary
}

func containerd(t *testing.T) {
	t.Helper()
	ctrd.once.Do(func() { ctrd.err = startContainerd() })
	if ctrd.err != nil {
		t.Fatalf("containerd: %v", ctrd.err)
	}
}

func startContainerd() error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	ctrd.bins = map[string]string{"brig": brigBin, "runc": runc}
	ctrd.dir = filepath.Join(tmpDir, "containerd")
	ctrd.sock = filepath.Join(ctrd.dir, "containerd.sock")
	if err := os.MkdirAll(ctrd.dir, 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(ctrd.dir, "root"), filepath.Join(ctrd.dir, "state"), ctrd.sock, ctrd.sock+".ttrpc")
	cfgPath := filepath.Join(ctrd.dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(ctrd.dir, "containerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	// containerd's overlayfs snapshotter cannot stack on an overlayfs
	// temp dir (a CI container): use the copying one there.
	var fs unix.Statfs_t
	if err := unix.Statfs(ctrd.dir, &fs); err == nil && fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		os.Setenv("CONTAINERD_SNAPSHOTTER", "native")
	}
	cmd := exec.Command("containerd", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	ctrd.cmd = cmd
	ctrd.done = make(chan error, 1)
	go func() { ctrd.done <- cmd.Wait() }()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r, err := runErr(10*time.Second, ctrArgs("version")...)
		if err == nil && r.code == 0 {
			break
		}
		select {
		case err := <-ctrd.done:
			ctrd.done <- err
			log, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("containerd exited: %v\n%s", err, tail(string(log), 2000))
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("containerd did not answer on %s: %s", ctrd.sock, r)
		}
	}
	r, err := runErr(2*time.Minute, ctrArgs("image", "import", imageTar)...)
	if err != nil || r.code != 0 {
		return fmt.Errorf("ctr image import: %v %s", err, r)
	}
	return nil
}

// stopContainerd fails on containers left by a test, stops the daemon,
// and kills (and reports) any shim that outlived it.
func stopContainerd() error {
	if ctrd.cmd == nil {
		return nil
	}
	var errs []string
	if r, _ := cleanupRun(time.Minute, ctrArgs("containers", "list", "-q")...); strings.TrimSpace(r.out) != "" {
		errs = append(errs, "containers left behind: "+r.out)
		// Remove them through containerd, so no container process is
		// orphaned when the daemon and the shims go.
		for _, id := range strings.Fields(r.out) {
			_, _ = cleanupRun(time.Minute, ctrArgs("task", "rm", "-f", id)...)
			_, _ = cleanupRun(time.Minute, ctrArgs("containers", "rm", id)...)
		}
	}
	_ = ctrd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ctrd.done:
	case <-time.After(20 * time.Second):
		errs = append(errs, "containerd ignored SIGTERM")
		_ = ctrd.cmd.Process.Kill()
		<-ctrd.done
	}
	// Shims run with -address <our socket>.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(cmdline), ctrd.sock) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		if alive(pid) {
			errs = append(errs, fmt.Sprintf("stray process %d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func ctrArgs(args ...string) []string {
	return append([]string{"ctr", "--address", ctrd.sock, "--namespace", ctrNS}, args...)
}

// rtFlags select the runtime for `ctr run`: the shim calls BIN with
// --root RUNCROOT/<namespace>; the FIFOs live in the temp dir too.
func rtFlags(rt string) []string {
	return []string{"--runc-binary", ctrd.bins[rt], "--runc-root", filepath.Join(ctrd.dir, "runc-"+rt), "--fifo-dir", filepath.Join(ctrd.dir, "fifo")}
}

func ctrState(rt, id string) string {
	return filepath.Join(ctrd.dir, "runc-"+rt, ctrNS, id)
}

func ctr(t *testing.T, args ...string) res {
	t.Helper()
	return run(t, ctrArgs(args...)...)
}

func ctrOK(t *testing.T, args ...string) string {
	t.Helper()
	return ok(t, ctrArgs(args...)...)
}

// ctrRun is `ctr run RUNTIME-FLAGS OPTS IMAGE ID ARGS...`.
func ctrRun(rt string, opts []string, id string, args ...string) []string {
	a := append([]string{"run"}, opts...)
	a = append(a, rtFlags(rt)...)
	return append(append(a, image, id), args...)
}

// task reads a task's pid and status from `ctr task ls`.
func task(t *testing.T, id string) (pid int, status string) {
	t.Helper()
	for _, line := range strings.Split(ctrOK(t, "task", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// removeCtr registers a forced removal of a container for failing tests.
func removeCtr(t *testing.T, id string) {
	t.Cleanup(func() {
		_, _ = runErr(time.Minute, ctrArgs("task", "rm", "-f", id)...)
		_, _ = runErr(time.Minute, ctrArgs("containers", "rm", id)...)
	})
}

// ctr 1.6 has no --cap-drop ALL (every name needs the CAP_ prefix) and
// cannot join the host's pid/ipc namespaces here (--with-ns on /proc/1/ns
// fails under runc too), so its cases are the ones it can express.
func ctrCapCases() []capCase {
	return []capCase{
		{name: "default", eff: default14, bnd: default14, seccomp: "0", nnp: "1"},
		{name: "cap-add-SYS_TIME", args: []string{"--cap-add", "CAP_SYS_TIME"}, eff: 0xaa0425fb, bnd: 0xaa0425fb, seccomp: "0", nnp: "1"},
		{name: "cap-drop-SETUID-SETGID-FOWNER", args: []string{"--cap-drop", "CAP_SETUID", "--cap-drop", "CAP_SETGID", "--cap-drop", "CAP_FOWNER"}, eff: 0xa8042533, bnd: 0xa8042533, seccomp: "0", nnp: "1"},
		{name: "privileged", args: []string{"--privileged"}, eff: hostCaps, bnd: hostCaps, seccomp: "0", nnp: "1"},
		{name: "seccomp", args: []string{"--seccomp"}, eff: default14, bnd: default14, seccomp: "2", nnp: "1"},
		{name: "net-host", args: []string{"--net-host"}, eff: default14, bnd: default14, seccomp: "0", nnp: "1", hostNS: []string{"net"}},
		{name: "allow-new-privs", args: []string{"--allow-new-privs"}, eff: default14, bnd: default14, seccomp: "0", nnp: "0"},
	}
}

// TestContainerdCaps: `ctr run --rm --runc-binary` with brig-runtime and
// runc, /proc/self/status compared.
func TestContainerdCaps(t *testing.T) {
	containerd(t)
	for _, c := range ctrCapCases() {
		t.Run(c.name, func(t *testing.T) {
			reps := map[string]Report{}
			for _, rt := range podmanRuntimes {
				id := "caps-" + c.name + "-" + rt
				removeCtr(t, id)
				r := ctr(t, ctrRun(rt, append([]string{"--rm"}, c.args...), id, "sh", "-c", Probe)...)
				if r.code != 0 {
					t.Fatalf("%s: %s", rt, r)
				}
				reps[rt] = probe(t, rt, r.out)
				c.check(t, rt, reps[rt])
				if _, err := os.Stat(ctrState(rt, id)); err == nil {
					t.Errorf("%s: state %s left after run --rm", rt, ctrState(rt, id))
				}
				t.Logf("%s: CapEff %s CapBnd %s Seccomp %s NoNewPrivs %s", rt, reps[rt]["CapEff"], reps[rt]["CapBnd"], reps[rt]["Seccomp"], reps[rt]["NoNewPrivs"])
			}
			if d := Diff(reps["brig"], reps["runc"], nsKeys...); len(d) > 0 {
				t.Errorf("brig-runtime and runc differ:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestContainerdLifecycle: task exec (plain, exit code, -t), pause/resume,
// ps, kill, rm -f, through containerd-shim-runc-v2.
func TestContainerdLifecycle(t *testing.T) {
	containerd(t)
	execReps := map[string]Report{}
	for _, rt := range podmanRuntimes {
		t.Run(rt, func(t *testing.T) {
			execReps[rt] = ctrLifecycle(t, rt)
		})
	}
	if a, b := execReps["brig"], execReps["runc"]; a != nil && b != nil {
		if d := Diff(a, b, nsKeys...); len(d) > 0 {
			t.Errorf("task exec: brig-runtime and runc differ:\n%s", strings.Join(d, "\n"))
		}
	}
}

func startCtr(t *testing.T, rt, id string, args ...string) int {
	t.Helper()
	removeCtr(t, id)
	ctrOK(t, ctrRun(rt, []string{"-d"}, id, args...)...)
	pid, status := task(t, id)
	if pid <= 0 || status != "RUNNING" || !alive(pid) {
		t.Fatalf("%s: task pid %d status %q", id, pid, status)
	}
	if _, err := os.Stat(ctrState(rt, id)); err != nil {
		t.Fatalf("%s: no %s state: %v", id, rt, err)
	}
	return pid
}

func ctrLifecycle(t *testing.T, rt string) Report {
	fifo := filepath.Join(ctrd.dir, "fifo")
	id := "lc-" + rt
	pid := startCtr(t, rt, id, "sh", "-c", "trap 'exit 3' TERM; sleep 1000 & wait")
	cgroups := cgroupDirs(t, pid)

	rep := probe(t, "task exec", ctrOK(t, "task", "exec", "--fifo-dir", fifo, "--exec-id", "probe", id, "sh", "-c", Probe))
	capCase{eff: default14, bnd: default14, seccomp: "0", nnp: "1"}.check(t, "task exec", rep)
	for _, n := range []string{"pid", "net", "ipc", "uts", "mnt"} {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil || rep["ns_"+n] != l {
			t.Errorf("task exec: %s namespace %s, init's %s (%v)", n, rep["ns_"+n], l, err)
		}
	}
	if r := ctr(t, "task", "exec", "--fifo-dir", fifo, "--exec-id", "exit4", id, "sh", "-c", "exit 4"); r.code != 4 {
		t.Errorf("task exec exit 4: %s", r)
	}
	// ctr may log "resize pty: cannot resize a stopped container" when
	// the process exits before its first resize; runc gets it too.
	r := inPty(t, strings.Join(ctrArgs("task", "exec", "-t", "--fifo-dir", fifo, "--exec-id", "tty", id, "sh", "-c", "'tty; test -t 0 && echo stdin-is-tty; exit 6'"), " "))
	if r.code != 6 || !strings.Contains(r.out, "/dev/pts/") || !strings.Contains(r.out, "stdin-is-tty") {
		t.Errorf("task exec -t: %s", r)
	}

	ctrOK(t, "task", "pause", id)
	if _, s := task(t, id); s != "PAUSED" {
		t.Errorf("after pause: status %s", s)
	}
	if s := freezerState(t, pid); s != "FROZEN" {
		t.Errorf("after pause: freezer %s", s)
	}
	ctrOK(t, "task", "resume", id)
	if _, s := task(t, id); s != "RUNNING" {
		t.Errorf("after resume: status %s", s)
	}
	if s := freezerState(t, pid); s != "THAWED" {
		t.Errorf("after resume: freezer %s", s)
	}
	// task ps goes through the runtime's `ps --format json`.
	if out := ctrOK(t, "task", "ps", id); !strings.Contains(out, strconv.Itoa(pid)) {
		t.Errorf("task ps does not list the init %d:\n%s", pid, out)
	}

	ctrOK(t, "task", "kill", "-s", "SIGTERM", id)
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, s := task(t, id); s == "STOPPED" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("task did not stop after SIGTERM")
		}
	}
	// ctr reports the exit status when it deletes the task.
	if r := ctr(t, "task", "rm", id); r.code != 0 || !strings.Contains(r.err, "exit code 3") {
		t.Errorf("task rm after SIGTERM: want exit code 3 (the TERM trap): %s", r)
	}
	ctrOK(t, "containers", "rm", id)
	wantRemoved(t, pid, cgroups, ctrState(rt, id))

	// task rm -f of a running task: kill --all 9, then delete.
	id = "rmf-" + rt
	pid = startCtr(t, rt, id, "sleep", "1000")
	cgroups = cgroupDirs(t, pid)
	ctrOK(t, "task", "rm", "-f", id)
	ctrOK(t, "containers", "rm", id)
	wantRemoved(t, pid, cgroups, ctrState(rt, id))
	return rep
}

// TestContainerdTTY: `ctr run -t --rm` in a pty (ctr panics without one).
func TestContainerdTTY(t *testing.T) {
	containerd(t)
	for _, rt := range podmanRuntimes {
		id := "tty-" + rt
		removeCtr(t, id)
		cmd := ctrArgs(ctrRun(rt, []string{"-t", "--rm"}, id, "sh", "-c", "'tty; test -t 0 && echo stdin-is-tty; exit 7'")...)
		r := inPty(t, strings.Join(cmd, " "))
		if r.code != 7 || !strings.Contains(r.out, "/dev/pts/0") || !strings.Contains(r.out, "stdin-is-tty") {
			t.Errorf("%s: ctr run -t: %s", rt, r)
		}
	}
}

// TestContainerdMissingExecutable: the shim's create fails with the
// runtime's JSON log message, and ctr run --rm leaves nothing.
func TestContainerdMissingExecutable(t *testing.T) {
	containerd(t)
	for _, rt := range podmanRuntimes {
		id := "missing-" + rt
		removeCtr(t, id)
		r := ctr(t, ctrRun(rt, []string{"--rm"}, id, "/nonexistent")...)
		if r.code == 0 || !strings.Contains(r.err, "OCI runtime create failed: ") || !strings.Contains(r.err, `"/nonexistent"`) ||
			!strings.Contains(r.err, "no such file or directory") || strings.Contains(r.err, `"level"`) {
			t.Errorf("%s: want a create failure with the runtime's message: %s", rt, r)
		}
		if out := ctrOK(t, "containers", "list", "-q"); strings.Contains(out, id) {
			t.Errorf("%s: container %s left after a failed run --rm", rt, id)
		}
		if _, err := os.Stat(ctrState(rt, id)); err == nil {
			t.Errorf("%s: state %s left behind", rt, ctrState(rt, id))
		}
		t.Logf("%s: %s", rt, strings.TrimSpace(r.err))
	}
}

// TestContainerdMounts: the mount table under ctr, as TestPodmanMounts.
func TestContainerdMounts(t *testing.T) {
	containerd(t)
	for _, c := range []struct {
		name string
		args []string
	}{{"default", nil}, {"privileged", []string{"--privileged"}}, {"read-only", []string{"--read-only"}}} {
		t.Run(c.name, func(t *testing.T) {
			tables := map[string][]Mount{}
			for _, rt := range podmanRuntimes {
				id := "mounts-" + c.name + "-" + rt
				removeCtr(t, id)
				out := ctrOK(t, ctrRun(rt, append([]string{"--rm"}, c.args...), id, "cat", "/proc/self/mountinfo")...)
				ms, err := ParseMountinfo(out)
				if err != nil {
					t.Fatalf("%s: %v", rt, err)
				}
				tables[rt] = ms
			}
			if d := MountDiff(tables["brig"], tables["runc"]); len(d) > 0 {
				t.Errorf("brig-runtime's mounts differ from runc's:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestContainerdResources: ctr's --memory-limit and --cpus in the kernel.
func TestContainerdResources(t *testing.T) {
	containerd(t)
	got := map[string]map[string]string{}
	for _, rt := range podmanRuntimes {
		id := "res-" + rt
		removeCtr(t, id)
		ctrOK(t, ctrRun(rt, []string{"-d", "--memory-limit", "67108864", "--cpus", "0.5"}, id, "sleep", "1000")...)
		pid, _ := task(t, id)
		if pid <= 0 {
			t.Fatalf("%s: no task", id)
		}
		cgroups := cgroupDirs(t, pid)
		got[rt] = limits(t, pid)
		t.Logf("%s: %v", rt, got[rt])
		// ctr sets no pids limit: compare it with runc only.
		mem, quota := got[rt]["memory/memory.limit_in_bytes"], got[rt]["cpu/cpu.cfs_quota_us"]
		if _, v1 := got[rt]["memory/memory.limit_in_bytes"]; !v1 {
			mem, quota = got[rt]["memory.max"], strings.Fields(got[rt]["cpu.max"] + " ")[0]
		}
		if mem != "67108864" || quota != "50000" {
			t.Errorf("%s: memory %s, cpu quota %s; want 67108864, 50000", rt, mem, quota)
		}
		ctrOK(t, "task", "rm", "-f", id)
		ctrOK(t, "containers", "rm", id)
		wantRemoved(t, pid, cgroups, ctrState(rt, id))
	}
	if fmt.Sprint(got["brig"]) != fmt.Sprint(got["runc"]) {
		t.Errorf("limits differ: brig-runtime %v, runc %v", got["brig"], got["runc"])
	}
}

// TestContainerdStdio: stdout and stderr come back apart through the
// shim's FIFOs, and the exit code through ctr. (ctr run never closes the
// task's stdin, so a piped stdin cannot be tested: cat would wait forever
// under any runtime.)
func TestContainerdStdio(t *testing.T) {
	containerd(t)
	for _, rt := range podmanRuntimes {
		id := "stdio-" + rt
		removeCtr(t, id)
		r := ctr(t, ctrRun(rt, []string{"--rm"}, id, "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 9")...)
		if r.code != 9 || r.out != "to-stdout\n" || r.err != "to-stderr\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", rt, r.code, r.out, r.err)
		}
	}
}
