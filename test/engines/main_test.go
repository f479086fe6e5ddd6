//go:build integration

package engines

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The suite's shared setup, made once by TestMain.
var (
	tmpDir   string // removed at the end
	repoDir  string
	brigBin  string // the brig-runtime under test
	imageTar string // docker-archive of localhost/bb:latest
	hostCaps uint64 // this process's bounding set: what --privileged gets
	hostNS   = map[string]string{}
	// Runtime state roots of podman's runtimes (podman passes no --root).
	stateRoots = map[string]string{"brig": "/run/brig-runtime", "runc": "/run/runc"}
	// Host paths the engines create as a side effect; removed at the end
	// when they did not exist before the suite and are empty.
	sideDirs = []string{"/run/containerd/s", "/run/containerd", "/run/brig-runtime", "/run/runc"}
)

const image = "localhost/bb:latest"

func TestMain(m *testing.M) { os.Exit(mainCode(m)) }

func mainCode(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "engines: the engine tests need root")
		return 1
	}
	var missing []string
	for _, tool := range []string{"podman", "conmon", "runc", "crun", "containerd", "ctr", "containerd-shim-runc-v2", "script", "unshare", "findmnt", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "engines: missing %v: apt-get install -y podman conmon runc crun containerd util-linux bsdutils mount (see .ci/packages.txt)\n", missing)
		return 1
	}
	var existed []string
	for _, d := range sideDirs {
		if _, err := os.Stat(d); err == nil {
			existed = append(existed, d)
		}
	}
	cgroupsBefore := cgroupParents()
	code, err := setupAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "engines:", err)
		code = 1
	}
	// Engine side effects: empty dirs the suite created (rmdir never
	// removes a non-empty one, so another user's state is safe).
	for _, d := range sideDirs {
		if !slices.Contains(existed, d) {
			_ = os.Remove(d)
		}
	}
	for _, d := range cgroupParents() {
		if !slices.Contains(cgroupsBefore, d) {
			_ = os.Remove(d)
		}
	}
	return code
}

func setupAndRun(m *testing.M) (code int, err error) {
	start := time.Now()
	if tmpDir, err = os.MkdirTemp("", "brig-engines-"); err != nil {
		return 1, err
	}
	defer func() {
		if !cleanup() {
			code = 1
		}
		fmt.Fprintf(os.Stderr, "engines: suite took %.1fs\n", time.Since(start).Seconds())
	}()
	// go test's -timeout panics without running deferred functions, which
	// would leave containerd, shims and containers running: clean up a
	// little before it (the hung test then fails on its own).
	flag.Parse()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, _ := time.ParseDuration(f.Value.String()); d > 0 {
			margin := min(d/10, 30*time.Second)
			watchdog := time.AfterFunc(d-margin, func() {
				fmt.Fprintln(os.Stderr, "engines: close to go test's -timeout: cleaning up now")
				stopSuite()
				cleanup()
			})
			defer watchdog.Stop()
		}
	}
	if repoDir, err = filepath.Abs("../.."); err != nil {
		return 1, err
	}
	if hostCaps, err = ownMask("CapBnd"); err != nil {
		return 1, err
	}
	for _, n := range []string{"pid", "net", "ipc", "uts", "mnt"} {
		l, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			return 1, err
		}
		hostNS[n] = l
	}
	if err := buildRuntime(); err != nil {
		return 1, err
	}
	imageTar = filepath.Join(tmpDir, "bb.tar")
	if err := writeImage(imageTar); err != nil {
		return 1, err
	}
	if err := setupPodman(); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

var (
	cleanupOnce sync.Once
	cleanupOK   bool
)

// cleanup stops containerd, removes the podman root and the temp dir, and
// reports what was left behind. It runs once, at the end or from the
// watchdog, whichever comes first.
func cleanup() bool {
	cleanupOnce.Do(func() {
		cleanupOK = true
		fail := func(what string, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "engines: %s: %v\n", what, err)
				cleanupOK = false
			}
		}
		fail("containerd shutdown", stopContainerd())
		fail("podman cleanup", cleanupPodman())
		fail("left behind", leftovers(tmpDir))
		fail("remove temp dir", os.RemoveAll(tmpDir))
	})
	return cleanupOK
}

// buildRuntime uses $BRIG_RUNTIME when set, or builds the tree's
// brig-runtime into the temp dir: bin/ is shared with other builds that
// could replace the binary halfway through the suite.
func buildRuntime() error {
	if b := os.Getenv("BRIG_RUNTIME"); b != "" {
		brigBin = b
		return nil
	}
	brigBin = filepath.Join(tmpDir, "bin", "brig-runtime")
	cmd := exec.Command("go", "build", "-o", brigBin, "./cmd/brig-runtime")
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build brig-runtime: %v\n%s", err, out)
	}
	return nil
}

func writeImage(path string) error {
	img, err := testimage.Image()
	if err != nil {
		return err
	}
	tag, err := name.NewTag(image)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}

// ownMask reads one capability mask of this process.
func ownMask(key string) (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/self/status", key)
}

// res is a finished command.
type res struct {
	out, err string
	code     int
}

func (r res) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
}

// run runs a command with a deadline; a command that cannot start or
// times out fails the test.
func run(t *testing.T, argv ...string) res {
	t.Helper()
	return runIn(t, "", argv...)
}

// runIn is run with stdin from a string.
func runIn(t *testing.T, stdin string, argv ...string) res {
	t.Helper()
	r, err := runStdin(suiteCtx, stdin, cmdTimeout, argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, r)
	}
	return r
}

// cmdTimeout bounds every engine command, so a hang fails its test well
// before go test's own deadline, which would skip the cleanup in TestMain.
const cmdTimeout = 90 * time.Second

// suiteCtx ends when the watchdog cleans up: running test commands are
// killed and new ones refused, so no test recreates what cleanup removes.
var suiteCtx, stopSuite = context.WithCancel(context.Background())

// runErr runs a command for a test (including its t.Cleanup functions).
func runErr(timeout time.Duration, argv ...string) (res, error) {
	return runStdin(suiteCtx, "", timeout, argv...)
}

// cleanupRun runs a command of the suite's own cleanup.
func cleanupRun(timeout time.Duration, argv ...string) (res, error) {
	return runStdin(context.Background(), "", timeout, argv...)
}

func runStdin(parent context.Context, stdin string, timeout time.Duration, argv ...string) (res, error) {
	if err := parent.Err(); err != nil {
		return res{}, fmt.Errorf("not run: the suite is shutting down")
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := res{out: stdout.String(), err: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		r.code = ee.ExitCode()
		err = nil
	}
	if parent.Err() != nil {
		err = fmt.Errorf("killed: the suite is shutting down")
	} else if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	return r, err
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, argv ...string) string {
	t.Helper()
	r := run(t, argv...)
	if r.code != 0 {
		t.Fatalf("%s: %s", strings.Join(argv, " "), r)
	}
	return r.out
}

// inPty runs a shell command line under script(1), which gives it a pty
// as its controlling terminal (podman -t and ctr -t need one). script -e
// returns the command's exit code.
func inPty(t *testing.T, cmdline string) res {
	t.Helper()
	r := run(t, "script", "-qec", cmdline, "/dev/null")
	r.out = strings.ReplaceAll(r.out, "\r", "")
	return r
}

// probe parses a probe's output and fails the test on garbage.
func probe(t *testing.T, what, out string) Report {
	t.Helper()
	rep, err := ParseReport(out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	return rep
}

func wantMask(t *testing.T, what string, rep Report, key string, want uint64) {
	t.Helper()
	got, err := rep.Mask(key)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Errorf("%s: %s = %x, want %x", what, key, got, want)
	}
}

// alive reports whether pid runs (a zombie has exited).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitGone waits for pid to exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("pid %d still runs", pid)
}

// freezerState reads the v1 freezer state of pid's cgroup from the kernel.
func freezerState(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && f[1] == "freezer" {
			st, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", f[2], "freezer.state"))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(st))
		}
	}
	// cgroup v2: the freezer is cgroup.freeze in the unified hierarchy.
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			st, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", p, "cgroup.freeze"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(st)) == "1" {
				return "FROZEN"
			}
			return "THAWED"
		}
	}
	t.Fatalf("pid %d: no freezer cgroup in %s", pid, data)
	return ""
}

// cgroupDirs lists pid's cgroup directories, to check they are removed
// with the container.
func cgroupDirs(t *testing.T, pid int) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[2] == "/" {
			continue
		}
		ctl := strings.TrimPrefix(f[1], "name=")
		switch {
		case f[1] == "":
			ctl = "unified"
			if _, err := os.Stat("/sys/fs/cgroup/unified"); err != nil {
				ctl = ""
			}
		case strings.Contains(ctl, ","):
			ctl = strings.Split(ctl, ",")[0] // cpu,cpuacct: one of its links
		}
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", ctl, f[2]))
	}
	return dirs
}

// wantRemoved checks that nothing of a removed container remains: its
// processes, cgroups and runtime state directory.
func wantRemoved(t *testing.T, pid int, cgroups []string, state string) {
	t.Helper()
	waitGone(t, pid)
	for _, d := range cgroups {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left behind", d)
		}
	}
	if state != "" {
		if _, err := os.Stat(state); err == nil {
			t.Errorf("runtime state %s left behind", state)
		}
	}
}

// leftovers finds mounts and processes that still refer to dir.
func leftovers(dir string) error {
	var bad []string
	out, err := exec.Command("findmnt", "-rn", "-o", "TARGET").Output()
	if err != nil {
		return err
	}
	for _, m := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(m, dir+"/") || m == dir {
			bad = append(bad, "mount "+m)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		if pid == os.Getpid() || !alive(pid) {
			continue
		}
		bad = append(bad, fmt.Sprintf("process %d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "\n"))
	}
	return nil
}

// cgroupParents lists the engines' parent cgroups on this host.
func cgroupParents() []string {
	var out []string
	// Children first: conmon moves itself into libpod_parent/conmon.
	for _, pat := range []string{"/sys/fs/cgroup/*/libpod_parent/conmon", "/sys/fs/cgroup/libpod_parent/conmon", "/sys/fs/cgroup/*/libpod_parent", "/sys/fs/cgroup/libpod_parent", "/sys/fs/cgroup/*/" + ctrNS, "/sys/fs/cgroup/" + ctrNS} {
		m, _ := filepath.Glob(pat)
		out = append(out, m...)
	}
	return out
}

// limits reads a container's memory, pids and cpu limits from the kernel
// (the host's view of the init's cgroups), as "file=value" pairs.
func limits(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			paths[c] = f[2]
		}
	}
	files := map[string]string{ // v1: controller/file
		"memory/memory.limit_in_bytes": "memory",
		"pids/pids.max":                "pids",
		"cpu/cpu.cfs_quota_us":         "cpu",
		"cpu/cpu.cfs_period_us":        "cpu",
		"cpu/cpu.shares":               "cpu",
	}
	if _, v1 := paths["memory"]; !v1 {
		files = map[string]string{"memory.max": "", "pids.max": "", "cpu.max": "", "cpu.weight": ""}
	}
	out := map[string]string{}
	for file, ctrl := range files {
		var p string
		if ctrl != "" {
			p = filepath.Join("/sys/fs/cgroup", ctrl, paths[ctrl], filepath.Base(file))
		} else {
			p = filepath.Join("/sys/fs/cgroup", paths[""], file)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		out[file] = strings.TrimSpace(string(b))
	}
	return out
}

// wantLimits checks 64 MiB of memory, 50 pids, half a CPU (quota 50000 in
// a 100000 µs period) and, where given, cpu.shares.
func wantLimits(t *testing.T, what string, got map[string]string, shares string) {
	t.Helper()
	want := map[string]string{"memory.max": "67108864", "pids.max": "50", "cpu.max": "50000 100000"}
	if _, v1 := got["memory/memory.limit_in_bytes"]; v1 {
		want = map[string]string{"memory/memory.limit_in_bytes": "67108864", "pids/pids.max": "50", "cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"}
		if shares != "" {
			want["cpu/cpu.shares"] = shares
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
		}
	}
}
