//go:build integration

package engines

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The runtimes every podman test compares: brig-runtime and the reference.
var podmanRuntimes = []string{"brig", "runc"}

// setupPodman sources hack/podman-env.sh (the same setup the benchmarks
// use) for a private podman root under tmpDir, imports the test image and
// takes the resulting environment into this process.
func setupPodman() error {
	cmd := exec.Command("bash", "-c", `source "$1/hack/podman-env.sh" "$2" && podman_import_bb "$3" && env -0`, "bash", repoDir, podmanDir(), imageTar)
	cmd.Env = append(os.Environ(), "BRIG_RUNTIME="+brigBin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hack/podman-env.sh: %v: %s", err, stderr.String())
	}
	want := map[string]bool{"CONTAINERS_CONF": true, "CONTAINERS_STORAGE_CONF": true, "CONTAINERS_REGISTRIES_CONF": true, "PODMAN_ENV_DIR": true, "CRUN_HYBRID": true, "BRIG_RUNTIME": true}
	for _, kv := range strings.Split(string(out), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		if want[k] {
			os.Setenv(k, v)
			delete(want, k)
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("hack/podman-env.sh did not export %v", want)
	}
	return nil
}

func podmanDir() string { return filepath.Join(tmpDir, "podman") }

// cleanupPodman fails when a test left a container, then removes the
// private root (containers, storage mounts, the directory).
func cleanupPodman() error {
	if _, err := os.Stat(podmanDir()); err != nil {
		return nil // never set up
	}
	var err error
	if os.Getenv("PODMAN_ENV_DIR") != "" {
		if r, _ := cleanupRun(time.Minute, "podman", "ps", "-aq"); strings.TrimSpace(r.out) != "" {
			err = fmt.Errorf("containers left behind: %s", r.out)
		}
	}
	r, rerr := cleanupRun(2*time.Minute, "bash", "-c", `source "$1/hack/podman-env.sh" "$2" && podman_env_cleanup`, "bash", repoDir, podmanDir())
	if rerr != nil || r.code != 0 {
		err = fmt.Errorf("podman_env_cleanup: %v %s", rerr, r)
	}
	return err
}

func podman(t *testing.T, args ...string) res {
	t.Helper()
	return run(t, append([]string{"podman"}, args...)...)
}

func podmanOK(t *testing.T, args ...string) string {
	t.Helper()
	return ok(t, append([]string{"podman"}, args...)...)
}

func inspect(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(podmanOK(t, "inspect", "-f", format, name))
}

// capCase is one of the article's podman cases with what the container
// must see (fixtures/podman-specs/README.md).
type capCase struct {
	name    string
	args    []string
	eff     uint64 // CapEff and CapPrm
	bnd     uint64
	seccomp string
	nnp     string
	uid     string
	hostNS  []string // namespaces shared with the host
	write   string   // can the process create /probe ("" = not checked)
}

const default14 = 0xa80425fb

func podmanCapCases() []capCase {
	return []capCase{
		{name: "default", eff: default14, bnd: default14, write: "yes"},
		{name: "cap-add-SYS_TIME", args: []string{"--cap-add", "SYS_TIME"}, eff: 0xaa0425fb, bnd: 0xaa0425fb, write: "yes"},
		{name: "cap-drop-SETUID-SETGID-FOWNER", args: []string{"--cap-drop", "SETUID", "--cap-drop", "SETGID", "--cap-drop", "FOWNER"}, eff: 0xa8042533, bnd: 0xa8042533, write: "yes"},
		// Without DAC_OVERRIDE root cannot write the image's 0555 /.
		{name: "cap-drop-ALL-cap-add-SYS_TIME", args: []string{"--cap-drop", "ALL", "--cap-add", "SYS_TIME"}, eff: 0x02000000, bnd: 0x02000000, write: "no"},
		{name: "privileged", args: []string{"--privileged"}, eff: hostCaps, bnd: hostCaps, seccomp: "0", write: "yes"},
		{name: "host-pid-net-ipc", args: []string{"--pid=host", "--net=host", "--ipc=host"}, eff: default14, bnd: default14, hostNS: []string{"pid", "net", "ipc"}, write: "yes"},
		// The article's other options (fixtures h1-h4): a non-root user
		// keeps the bounding set and loses the rest; NNP is a flag;
		// unconfined drops the filter; read-only makes / EROFS.
		{name: "user-1000", args: []string{"--user", "1000:1000"}, eff: 0, bnd: default14, uid: "1000", write: "no"},
		{name: "no-new-privileges", args: []string{"--security-opt", "no-new-privileges"}, eff: default14, bnd: default14, nnp: "1", write: "yes"},
		{name: "seccomp-unconfined", args: []string{"--security-opt", "seccomp=unconfined"}, eff: default14, bnd: default14, seccomp: "0", write: "yes"},
		{name: "read-only", args: []string{"--read-only"}, eff: default14, bnd: default14, write: "no"},
	}
}

// checkCase checks one probe report against the case's expectations.
func (c capCase) check(t *testing.T, what string, rep Report) {
	t.Helper()
	wantMask(t, what, rep, "CapEff", c.eff)
	wantMask(t, what, rep, "CapPrm", c.eff)
	wantMask(t, what, rep, "CapBnd", c.bnd)
	wantMask(t, what, rep, "CapInh", 0) // CVE-2022-29162
	wantMask(t, what, rep, "CapAmb", 0)
	want := map[string]string{"Seccomp": "2", "NoNewPrivs": "0", "Uid": "0", "fds": "0 1 2 3"}
	if c.seccomp != "" {
		want["Seccomp"] = c.seccomp
	}
	if c.nnp != "" {
		want["NoNewPrivs"] = c.nnp
	}
	if c.uid != "" {
		want["Uid"] = c.uid
	}
	if c.write != "" {
		want["write_root"] = c.write
	}
	for k, v := range want {
		got := rep[k]
		if k == "Uid" {
			got = strings.Fields(got + " ")[0] // real uid
		}
		if got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, rep[k], v)
		}
	}
	checkNS(t, what, rep, c.hostNS)
}

// checkNS checks which namespaces are the host's: those in shared, and no
// other (uts and mnt are always the container's own).
func checkNS(t *testing.T, what string, rep Report, shared []string) {
	t.Helper()
	for _, n := range []string{"pid", "net", "ipc", "uts", "mnt"} {
		got := rep["ns_"+n]
		if got == "" {
			t.Errorf("%s: no %s namespace in the probe output", what, n)
			continue
		}
		isHost := got == hostNS[n]
		want := false
		for _, s := range shared {
			want = want || s == n
		}
		if isHost != want {
			t.Errorf("%s: %s namespace %s: host's = %v, want %v", what, n, got, isHost, want)
		}
	}
}

// nsKeys are the probe lines that name a namespace: new ones differ for
// every container, so brig and runc are compared through checkNS instead.
var nsKeys = []string{"ns_pid", "ns_net", "ns_ipc", "ns_uts", "ns_mnt"}

// TestPodmanCaps runs the article's cases with `podman run --rm` under
// brig-runtime and runc and compares /proc/self/status in the container.
func TestPodmanCaps(t *testing.T) {
	for _, c := range podmanCapCases() {
		t.Run(c.name, func(t *testing.T) {
			runtimes := podmanRuntimes
			if c.name == "default" {
				// crun (through hack/podman-env.sh's hybrid-cgroup
				// wrapper) as a third opinion on the base case.
				runtimes = append(runtimes[:len(runtimes):len(runtimes)], "crun")
			}
			reps := map[string]Report{}
			for _, rt := range runtimes {
				args := append([]string{"run", "--rm", "--runtime", rt}, c.args...)
				args = append(args, image, "sh", "-c", Probe)
				r := podman(t, args...)
				if r.code != 0 {
					t.Fatalf("%s: podman %s: %s", rt, strings.Join(args, " "), r)
				}
				reps[rt] = probe(t, rt, r.out)
				c.check(t, rt, reps[rt])
				t.Logf("%s: CapEff %s CapBnd %s Seccomp %s NoNewPrivs %s write_root %s", rt, reps[rt]["CapEff"], reps[rt]["CapBnd"], reps[rt]["Seccomp"], reps[rt]["NoNewPrivs"], reps[rt]["write_root"])
			}
			for _, rt := range runtimes[1:] {
				if d := Diff(reps["brig"], reps[rt], nsKeys...); len(d) > 0 {
					t.Errorf("brig-runtime and %s differ:\n%s", rt, strings.Join(d, "\n"))
				}
			}
		})
	}
}

// TestPodmanLifecycle drives one container per step through podman under
// each runtime: exec (plain, -u 1000, -t, exit codes, missing binary),
// pause/unpause, stop, kill with a signal, rm -f (also with --pid=host,
// where podman uses kill --all), and checks the kernel's view after each.
func TestPodmanLifecycle(t *testing.T) {
	execReps := map[string]Report{}
	for _, rt := range podmanRuntimes {
		t.Run(rt, func(t *testing.T) {
			execReps[rt] = podmanLifecycle(t, rt)
		})
	}
	if a, b := execReps["brig"], execReps["runc"]; a != nil && b != nil {
		if d := Diff(a, b, nsKeys...); len(d) > 0 {
			t.Errorf("exec: brig-runtime and runc differ:\n%s", strings.Join(d, "\n"))
		}
	}
}

// startPodman starts a detached container and registers its removal.
func startPodman(t *testing.T, rt, name string, args ...string) (id string, pid int) {
	t.Helper()
	all := append([]string{"run", "-d", "--runtime", rt, "--name", name}, args...)
	podmanOK(t, all...)
	t.Cleanup(func() { _, _ = runErr(time.Minute, "podman", "rm", "-f", "-t", "0", name) })
	id = inspect(t, name, "{{.Id}}")
	pid, err := strconv.Atoi(inspect(t, name, "{{.State.Pid}}"))
	if err != nil || pid <= 0 || !alive(pid) {
		t.Fatalf("%s: bad pid %d (%v)", name, pid, err)
	}
	// podman passes no --root: the runtime keeps its state in its default
	// root, which is also how this proves the runtime asked for ran it.
	if _, err := os.Stat(filepath.Join(stateRoots[rt], id)); err != nil {
		t.Fatalf("%s: no %s state for %s: %v", name, rt, id, err)
	}
	return id, pid
}

func podmanLifecycle(t *testing.T, rt string) Report {
	trapTerm := []string{image, "sh", "-c", "trap 'exit 3' TERM; sleep 1000 & wait"}

	// exec into a running container.
	name := "lc-" + rt
	id, pid := startPodman(t, rt, name, trapTerm...)
	cgroups := cgroupDirs(t, pid)
	rep := probe(t, "exec", podmanOK(t, "exec", name, "sh", "-c", Probe))
	capCase{eff: default14, bnd: default14}.check(t, "exec", rep)
	// An exec joins the container's namespaces: all of the init's.
	for _, n := range []string{"pid", "net", "ipc", "uts", "mnt"} {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil || rep["ns_"+n] != l {
			t.Errorf("exec: %s namespace %s, init's %s (%v)", n, rep["ns_"+n], l, err)
		}
	}
	u := probe(t, "exec -u 1000", podmanOK(t, "exec", "-u", "1000", name, "sh", "-c", Probe))
	capCase{eff: 0, bnd: default14, uid: "1000"}.check(t, "exec -u 1000", u)
	if r := podman(t, "exec", name, "sh", "-c", "exit 4"); r.code != 4 {
		t.Errorf("exec exit 4: %s", r)
	}
	if r := podman(t, "exec", name, "/nonexistent"); r.code != 127 {
		t.Errorf("exec of a missing binary: want exit 127: %s", r)
	}
	r := inPty(t, fmt.Sprintf("podman exec -t %s sh -c 'tty; test -t 0 && echo stdin-is-tty; exit 6'", name))
	if r.code != 6 || !strings.Contains(r.out, "/dev/pts/") || !strings.Contains(r.out, "stdin-is-tty") {
		t.Errorf("exec -t: %s", r)
	}

	// pause/unpause: the kernel's freezer, not just podman's word.
	podmanOK(t, "pause", name)
	if s := inspect(t, name, "{{.State.Status}}"); s != "paused" {
		t.Errorf("after pause: status %s", s)
	}
	if s := freezerState(t, pid); s != "FROZEN" {
		t.Errorf("after pause: freezer %s", s)
	}
	podmanOK(t, "unpause", name)
	if s := inspect(t, name, "{{.State.Status}}"); s != "running" {
		t.Errorf("after unpause: status %s", s)
	}
	if s := freezerState(t, pid); s != "THAWED" {
		t.Errorf("after unpause: freezer %s", s)
	}

	// restart: podman stops, deletes and re-creates the same id, so the
	// runtime must have removed every trace of the first container.
	podmanOK(t, "restart", "-t", "10", name)
	newPid, err := strconv.Atoi(inspect(t, name, "{{.State.Pid}}"))
	if err != nil || newPid == pid || !alive(newPid) {
		t.Fatalf("after restart: pid %d (was %d), %v", newPid, pid, err)
	}
	waitGone(t, pid)
	// Same id, same cgroups: created afresh for the new init.
	if got := cgroupDirs(t, newPid); !slices.Equal(got, cgroups) {
		t.Errorf("after restart: cgroups %v, want %v", got, cgroups)
	}
	pid = newPid
	if _, err := os.Stat(filepath.Join(stateRoots[rt], id)); err != nil {
		t.Errorf("after restart: no runtime state: %v", err)
	}
	if out := podmanOK(t, "exec", name, "cat", "/proc/1/cmdline"); !strings.Contains(out, "trap") {
		t.Errorf("after restart: exec sees pid 1 %q", out)
	}

	// stop: SIGTERM reaches the trap long before the SIGKILL timeout.
	start := time.Now()
	podmanOK(t, "stop", "-t", "30", name)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stop took %v: SIGTERM did not reach the container", d)
	}
	if c := inspect(t, name, "{{.State.ExitCode}}"); c != "3" {
		t.Errorf("after stop: exit code %s, want 3 (the TERM trap)", c)
	}
	waitGone(t, pid)
	podmanOK(t, "rm", name)
	wantRemoved(t, pid, cgroups, filepath.Join(stateRoots[rt], id))

	// kill with a signal the container handles.
	name = "kill-" + rt
	id, pid = startPodman(t, rt, name, image, "sh", "-c", "trap 'exit 5' USR1; sleep 1000 & wait")
	cgroups = cgroupDirs(t, pid)
	podmanOK(t, "kill", "-s", "USR1", name)
	if c := strings.TrimSpace(podmanOK(t, "wait", name)); c != "5" {
		t.Errorf("after kill -s USR1: exit code %s, want 5", c)
	}
	podmanOK(t, "rm", name)
	wantRemoved(t, pid, cgroups, filepath.Join(stateRoots[rt], id))

	// rm -f of a running container: SIGKILL, then delete --force. With
	// --pid=host podman signals with kill --all (the cgroup's processes).
	for i, extra := range [][]string{nil, {"--pid=host"}} {
		name = fmt.Sprintf("rmf%d-%s", i, rt)
		args := append(append([]string{}, extra...), image, "sleep", "1000")
		id, pid = startPodman(t, rt, name, args...)
		cgroups = cgroupDirs(t, pid)
		podmanOK(t, "rm", "-f", "-t", "0", name)
		if r := podman(t, "container", "exists", name); r.code != 1 {
			t.Errorf("%s still exists after rm -f: %s", name, r)
		}
		wantRemoved(t, pid, cgroups, filepath.Join(stateRoots[rt], id))
	}
	return rep
}

// TestPodmanTTY runs `podman run -t` in a pty: the container's stdin is a
// terminal and its exit code comes back through conmon.
func TestPodmanTTY(t *testing.T) {
	for _, rt := range podmanRuntimes {
		r := inPty(t, fmt.Sprintf("podman run --runtime %s --rm -t %s sh -c 'tty; test -t 0 && echo stdin-is-tty; stty size; exit 7'", rt, image))
		if r.code != 7 || !strings.Contains(r.out, "/dev/pts/0") || !strings.Contains(r.out, "stdin-is-tty") {
			t.Errorf("%s: podman run -t: %s", rt, r)
		}
	}
}

// TestPodmanMissingExecutable: the create fails, podman maps the runtime's
// JSON log message to exit code 127, and nothing is left.
func TestPodmanMissingExecutable(t *testing.T) {
	for _, rt := range podmanRuntimes {
		name := "missing-" + rt
		r := podman(t, "run", "--rm", "--runtime", rt, "--name", name, image, "/nonexistent")
		if r.code != 127 {
			t.Errorf("%s: want exit 127: %s", rt, r)
		}
		// podman prints "<runtime>: <msg>" with msg read from the
		// runtime's --log-format json log: the bare message, not the
		// JSON object, a logrus text line, or brig-runtime's stderr line
		// ("brig-runtime: ..."), which is what podman shows for a
		// runtime missing from runtime_supports_json.
		if !strings.Contains(r.err, "Error: "+rt+": ") || !strings.Contains(r.err, `"/nonexistent"`) ||
			!strings.Contains(r.err, "no such file or directory") || strings.Contains(r.err, `"level"`) ||
			strings.Contains(r.err, "level=") || strings.Contains(r.err, "brig-runtime:") {
			t.Errorf("%s: error message not parsed from the JSON log: %q", rt, r.err)
		}
		if r := podman(t, "container", "exists", name); r.code != 1 {
			t.Errorf("%s: container left after a failed run --rm: %s", rt, r)
			_, _ = runErr(time.Minute, "podman", "rm", "-f", name)
		}
		t.Logf("%s: %s", rt, strings.TrimSpace(r.err))
	}
}

// TestPodmanMounts compares the container's mount table under brig-runtime
// and runc: the same mount points with the same filesystems, and nothing
// writable that runc makes read-only (brig-runtime may be stricter: its
// masked-path tmpfs mounts add nosuid,nodev,noexec and it honours the
// cgroup mount's "ro" on the /sys/fs/cgroup tmpfs, which runc 1.1 leaves
// writable).
func TestPodmanMounts(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{{"default", nil}, {"privileged", []string{"--privileged"}}, {"read-only", []string{"--read-only"}}} {
		t.Run(c.name, func(t *testing.T) {
			tables := map[string][]Mount{}
			for _, rt := range podmanRuntimes {
				args := append([]string{"run", "--rm", "--runtime", rt}, c.args...)
				out := podmanOK(t, append(args, image, "cat", "/proc/self/mountinfo")...)
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

// TestPodmanResources: memory, pids and cpu limits reach the kernel's
// cgroup files the same way under brig-runtime and runc.
func TestPodmanResources(t *testing.T) {
	got := map[string]map[string]string{}
	for _, rt := range podmanRuntimes {
		name := "res-" + rt
		id, pid := startPodman(t, rt, name, "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "--cpu-shares", "512", image, "sleep", "1000")
		cgroups := cgroupDirs(t, pid)
		got[rt] = limits(t, pid)
		wantLimits(t, rt, got[rt], "512")
		t.Logf("%s: %v", rt, got[rt])
		podmanOK(t, "rm", "-f", "-t", "0", name)
		wantRemoved(t, pid, cgroups, filepath.Join(stateRoots[rt], id))
	}
	if fmt.Sprint(got["brig"]) != fmt.Sprint(got["runc"]) {
		t.Errorf("limits differ: brig-runtime %v, runc %v", got["brig"], got["runc"])
	}
}

// TestPodmanStdio: stdin piped in with -i, stdout and stderr kept apart,
// the exit code passed back through conmon.
func TestPodmanStdio(t *testing.T) {
	for _, rt := range podmanRuntimes {
		r := runIn(t, "from-stdin\n", "podman", "run", "--rm", "-i", "--runtime", rt, image, "sh", "-c", "cat; echo to-stderr >&2; exit 9")
		code, stdout, stderr := r.code, r.out, r.err
		if code != 9 || stdout != "from-stdin\n" || stderr != "to-stderr\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", rt, code, stdout, stderr)
		}
	}
}
