//go:build integration && linux

package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CVE-2019-5736: the init that waits in the container runs from a
// read-only mount that no mount namespace shows (a detached copy made with
// open_tree, or on an older kernel a bind detached after opening), or from
// a sealed memfd, so /proc/PID/exe leads to nothing that can be written,
// and the host binary is never exposed.
func TestSealedExe(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run("old-kernel="+strconv.FormatBool(old), func(t *testing.T) {
			testOldKernel = old
			defer func() { testOldKernel = false }()
			rt := newRuntime(t)
			b := newBundle(t, []string{"true"}, nil)
			st, err := rt.Create("x", CreateOpts{Bundle: b})
			must(t, err)
			defer rt.Delete("x", true)
			exe := "/proc/" + strconv.Itoa(st.Pid) + "/exe"
			target, err := os.Readlink(exe)
			must(t, err)
			// A detached mount of a single file reads as "/".
			if target != "/" {
				t.Fatalf("init exe is %q, want the binary on a detached mount", target)
			}
			var fs unix.Statfs_t
			must(t, unix.Statfs(exe, &fs))
			if fs.Flags&unix.ST_RDONLY == 0 {
				t.Fatalf("the init's exe is on a writable mount (flags %#x)", fs.Flags)
			}
			// The exe's mount is detached: no mount namespace shows it.
			mi, _ := os.ReadFile("/proc/self/mountinfo")
			if strings.Contains(string(mi), ".runtime-exe") {
				t.Fatal("the read-only bind of the runtime is still mounted")
			}
			f, err := os.OpenFile(exe, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.Write([]byte("evil"))
				f.Close()
			}
			if err == nil {
				t.Fatal("writing the init's executable succeeded")
			}
			if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ETXTBSY) && !errors.Is(err, unix.EROFS) {
				t.Fatalf("write to init exe: %v, want EPERM, ETXTBSY or EROFS", err)
			}
		})
	}
	// And the memfd fallback is sealed the same way.
	mem, err := memfdCopy("/proc/self/exe")
	must(t, err)
	defer mem.Close()
	if _, err := unix.Write(int(mem.Fd()), []byte("x")); !errors.Is(err, unix.EPERM) {
		t.Fatalf("write to the sealed memfd: %v, want EPERM", err)
	}
}

// CVE-2024-21626: the container sees only 0-2 (plus --preserve-fds), and a
// cwd that points at a leaked fd is refused.
func TestNoFdLeak(t *testing.T) {
	res := probeResults(t, nil, "fds")
	for _, f := range strings.Fields(res["fds"]) {
		n, _, _ := strings.Cut(f, "=")
		if n != "0" && n != "1" && n != "2" {
			t.Errorf("leaked fd in container: %s", f)
		}
	}
}

func TestPreserveFds(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"/probe", "fds"}, nil)
	// Run in a child brig-runtime process so fds 3 and 4 are exactly ours.
	bin := buildRuntime(t)
	r, w, _ := os.Pipe()
	defer r.Close()
	extra, _ := os.Open("/dev/zero")
	cmd := exec.Command(bin, "--root", rt.Store.Root, "run", "--preserve-fds", "2", "-b", b, "pf")
	cmd.ExtraFiles = []*os.File{w, extra}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Run())
	w.Close()
	var res map[string]string
	must(t, json.Unmarshal(out.Bytes(), &res))
	fds := res["fds"]
	if !strings.Contains(fds, "3=pipe:") || !strings.Contains(fds, "4=/dev/zero") {
		t.Fatalf("preserved fds missing: %s", fds)
	}
	for _, f := range strings.Fields(fds) {
		n, _ := strconv.Atoi(strings.SplitN(f, "=", 2)[0])
		if n > 4 {
			t.Errorf("leaked fd beyond the preserved ones: %s", f)
		}
	}
}

func TestCwdThroughLeakedFdRefused(t *testing.T) {
	for fd := 3; fd <= 12; fd++ {
		rt := newRuntime(t)
		cwd := fmt.Sprintf("/proc/self/fd/%d", fd)
		b := newBundle(t, []string{"/probe", "cwd"}, func(s *specs.Spec) { s.Process.Cwd = cwd })
		out, _, code, err := runBundle(t, rt, "cwd", b)
		if err != nil || code != 0 {
			continue // refused: good
		}
		var res map[string]string
		_ = json.Unmarshal([]byte(out), &res)
		if wd := res["cwd"]; !strings.HasPrefix(wd, "/") || strings.Contains(wd, "unreachable") {
			t.Errorf("cwd %s: container started outside its root (cwd %q)", cwd, wd)
		}
	}
}

// CVE-2021-30465: a mount destination that is a symlink out of the rootfs
// lands inside the rootfs, never on the host.
func TestMountDestinationSymlinkStaysInRoot(t *testing.T) {
	host := t.TempDir()
	rt := newRuntime(t)
	b := newBundle(t, []string{"/probe", "mountinfo"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/evil/m", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	})
	root := filepath.Join(b, "rootfs")
	must(t, os.Symlink("../../../../../../.."+host, filepath.Join(root, "evil")))
	// The symlink's target, read inside the rootfs, exists there.
	must(t, os.MkdirAll(filepath.Join(root, host), 0o755))
	_, _, code, err := runBundle(t, rt, "sym", b)
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v", code, err)
	}
	if _, err := os.Stat(filepath.Join(host, "m")); err == nil {
		t.Fatalf("the mount point was created on the host at %s", host)
	}
	// Resolved inside the rootfs instead.
	if _, err := os.Stat(filepath.Join(root, host, "m")); err != nil {
		t.Fatalf("expected the destination inside the rootfs: %v", err)
	}
}

// A dangling escape symlink is refused rather than followed.
func TestMountDestinationDanglingSymlink(t *testing.T) {
	host := t.TempDir()
	rt := newRuntime(t)
	b := newBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/evil/m", Type: "tmpfs", Source: "tmpfs"})
	})
	root := filepath.Join(b, "rootfs")
	must(t, os.Symlink("../../../../../../.."+host, filepath.Join(root, "evil")))
	_, _, code, err := runBundle(t, rt, "dsym", b)
	if err == nil && code == 0 {
		if _, err := os.Stat(filepath.Join(root, host, "m")); err != nil {
			t.Fatal("run succeeded but the mount point is not inside the rootfs")
		}
	}
	if _, err := os.Stat(filepath.Join(host, "m")); err == nil {
		t.Fatalf("the mount point was created on the host at %s", host)
	}
	if bad := leftovers(t, rt, "dsym", host); len(bad) > 0 {
		t.Fatalf("left behind %v", bad)
	}
}

// CVE-2019-16884: a rootfs whose /proc is a symlink cannot redirect the
// proc mount (and with it /proc/self/attr) elsewhere.
func TestProcSymlinkRefused(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"true"}, nil)
	root := filepath.Join(b, "rootfs")
	must(t, os.RemoveAll(filepath.Join(root, "proc")))
	must(t, os.MkdirAll(filepath.Join(root, "fakeproc"), 0o755))
	must(t, os.Symlink("fakeproc", filepath.Join(root, "proc")))
	_, err := rt.Create("ps", CreateOpts{Bundle: b})
	if err == nil {
		rt.Delete("ps", true)
		t.Fatal("create succeeded with /proc a symlink")
	}
	if !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("error %q does not explain the symlink", err)
	}
	if bad := leftovers(t, rt, "ps", root); len(bad) > 0 {
		t.Fatalf("failed create left %v", bad)
	}
}

// CVE-2025-31133: with /dev/null swapped for a symlink, masking refuses to
// bind whatever the symlink points at.
func TestMaskedPathDevNullSymlink(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"true"}, func(s *specs.Spec) {
		var ms []specs.Mount
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Destination, "/dev") {
				ms = append(ms, m)
			}
		}
		s.Mounts = ms // no tmpfs /dev: the image's /dev is used as is
	})
	root := filepath.Join(b, "rootfs")
	must(t, os.MkdirAll(filepath.Join(root, "dev"), 0o755))
	os.Remove(filepath.Join(root, "dev", "null"))
	must(t, os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(root, "dev", "null")))
	before, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	_, err := rt.Create("mask", CreateOpts{Bundle: b})
	if err == nil {
		rt.Delete("mask", true)
		t.Fatal("create succeeded with /dev/null a symlink")
	}
	if !strings.Contains(err.Error(), "null device") {
		t.Fatalf("error %q does not explain /dev/null", err)
	}
	after, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	if !bytes.Equal(before, after) {
		t.Fatal("core_pattern changed")
	}
}

// Masked and read-only paths as the kernel reports them, made with the
// new mount API and, as on an older kernel, with mount(2).
func TestMaskedAndReadonlyPaths(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run("old-kernel="+strconv.FormatBool(old), func(t *testing.T) {
			testOldKernel = old
			defer func() { testOldKernel = false }()
			res := probeResults(t, nil, "read:/proc/timer_list", "write:/proc/sys/kernel/domainname", "mountinfo")
			if r := res["read:/proc/timer_list"]; r != "ok:" {
				t.Errorf("/proc/timer_list read = %q, want empty (masked by /dev/null)", r)
			}
			if w := res["write:/proc/sys/kernel/domainname"]; w != "EROFS" {
				t.Errorf("write to /proc/sys = %q, want EROFS", w)
			}
			mi := res["mountinfo"]
			for _, want := range []string{" /proc/timer_list ", " /proc/sys ro,nosuid,nodev,noexec,", " /sys ro,", " /proc/acpi ro,"} {
				if !strings.Contains(mi, want) {
					t.Errorf("mountinfo lacks %q:\n%s", want, mi)
				}
			}
		})
	}
}

// Bad input gets a clear error and leaves nothing behind.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(dir string)
		want   string
	}{
		{"malformed json", func(d string) { os.WriteFile(filepath.Join(d, "config.json"), []byte("{"), 0o644) }, "not valid JSON"},
		{"no process", func(d string) { rewrite(d, func(s *specs.Spec) { s.Process = nil }) }, "process is missing"},
		{"no version", func(d string) { rewrite(d, func(s *specs.Spec) { s.Version = "" }) }, "ociVersion"},
		{"unknown capability", func(d string) {
			rewrite(d, func(s *specs.Spec) {
				s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_FLY")
			})
		}, "CAP_FLY"},
		{"missing rootfs", func(d string) { os.RemoveAll(filepath.Join(d, "rootfs")) }, "rootfs"},
		{"missing executable", func(d string) { rewrite(d, func(s *specs.Spec) { s.Process.Args = []string{"nosuchcmd"} }) }, "executable file not found"},
		{"host sysctl", func(d string) {
			rewrite(d, func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} })
		}, "not namespaced"},
		{"relative cwd", func(d string) { rewrite(d, func(s *specs.Spec) { s.Process.Cwd = "tmp" }) }, "cwd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := newRuntime(t)
			b := newBundle(t, []string{"true"}, nil)
			c.mutate(b)
			_, err := rt.Create("bad", CreateOpts{Bundle: b})
			if err == nil {
				rt.Delete("bad", true)
				t.Fatal("create succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if bad := leftovers(t, rt, "bad", filepath.Join(b, "rootfs")); len(bad) > 0 {
				t.Fatalf("left behind: %v", bad)
			}
		})
	}
	t.Run("duplicate id", func(t *testing.T) {
		rt := newRuntime(t)
		b := newBundle(t, []string{"true"}, nil)
		_, err := rt.Create("dup", CreateOpts{Bundle: b})
		must(t, err)
		defer rt.Delete("dup", true)
		if _, err := rt.Create("dup", CreateOpts{Bundle: b}); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("duplicate create: %v", err)
		}
		if s, _ := rt.Store.Load("dup"); rt.Status(s) != Created {
			t.Fatal("the duplicate create disturbed the first container")
		}
	})
	t.Run("bad id", func(t *testing.T) {
		rt := newRuntime(t)
		if _, err := rt.Create("../x", CreateOpts{Bundle: "."}); err == nil {
			t.Fatal("accepted ../x as an id")
		}
	})
}

func rewrite(dir string, fn func(*specs.Spec)) {
	var s specs.Spec
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	_ = json.Unmarshal(b, &s)
	fn(&s)
	b, _ = json.Marshal(&s)
	_ = os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

var runtimeBin string

func buildRuntime(t *testing.T) string {
	t.Helper()
	if runtimeBin != "" {
		return runtimeBin
	}
	p := filepath.Join(os.TempDir(), "brig-runtime-itest")
	cmd := exec.Command("go", "build", "-o", p, "../../cmd/brig-runtime")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build brig-runtime: %v\n%s", err, out)
	}
	runtimeBin = p
	return p
}

// SIGKILL at any point of create or start, then delete --force, leaves no
// mount, cgroup, process or state behind. The kill points are spread over
// the whole create by killing after increasing delays.
func TestKillDuringCreateThenDelete(t *testing.T) {
	bin := buildRuntime(t)
	rt := newRuntime(t)
	b := newBundle(t, []string{"sleep", "100"}, nil)
	rootfs := filepath.Join(b, "rootfs")
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 40; i++ {
		id := "k" + strconv.Itoa(i)
		cmd := exec.Command(bin, "--root", rt.Store.Root, "create", "-b", b, id)
		must(t, cmd.Start())
		time.Sleep(time.Duration(rng.Intn(40000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if i%2 == 1 {
			// Also interrupt a start when create got that far.
			s := exec.Command(bin, "--root", rt.Store.Root, "start", id)
			_ = s.Start()
			time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
			_ = s.Process.Signal(syscall.SIGKILL)
			_ = s.Wait()
		}
		st, _ := rt.Store.Load(id)
		var pid int
		if st != nil {
			pid = st.Pid
		}
		if out, err := exec.Command(bin, "--root", rt.Store.Root, "delete", "--force", id).CombinedOutput(); err != nil {
			t.Fatalf("delete --force %s after kill: %v %s", id, err, out)
		}
		if bad := leftovers(t, rt, id, rootfs); len(bad) > 0 {
			t.Fatalf("%s: left behind %v", id, bad)
		}
		if pid > 0 && st.alive() {
			t.Fatalf("%s: init pid %d still alive", id, pid)
		}
	}
	// No init of this test's containers may survive. One killed with its
	// create before joining any cgroup cannot be found by delete; it sees
	// its sync socket close and exits by itself, so it gets a moment.
	stray := func() []string {
		var out []string
		procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
		for _, p := range procs {
			cg, _ := os.ReadFile(p)
			if bytes.Contains(cg, []byte("/brig-runtime/k")) {
				comm, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "comm"))
				out = append(out, fmt.Sprintf("%s (%s)", p, bytes.TrimSpace(comm)))
			}
		}
		return out
	}
	for i := 0; i < 200 && len(stray()) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if s := stray(); len(s) > 0 {
		t.Errorf("stray processes: %v", s)
	}
}

func TestLifecycleStates(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"sleep", "100"}, nil)
	st, err := rt.Create("l", CreateOpts{Bundle: b})
	must(t, err)
	defer rt.Delete("l", true)
	status := func() string { s, _ := rt.Store.Load("l"); return rt.Status(s) }
	if s := status(); s != Created {
		t.Fatalf("after create: %s", s)
	}
	must(t, rt.Start("l"))
	if s := status(); s != Running {
		t.Fatalf("after start: %s", s)
	}
	// Pause once the init has exec'd: the v1 freezer cannot stop a task
	// in the middle of execve (engines pause long after start).
	waitExec(t, st.Pid, "sleep")
	must(t, rt.Pause("l"))
	if s := status(); s != Paused {
		t.Fatalf("after pause: %s", s)
	}
	state, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/status")
	if !strings.Contains(string(state), "State:\tS") && !strings.Contains(string(state), "State:\tD") {
		t.Logf("paused task state: %s", statusField(string(state), "State"))
	}
	must(t, rt.Resume("l"))
	pids, err := rt.Pids("l")
	if err != nil || len(pids) != 1 || pids[0] != st.Pid {
		t.Fatalf("pids = %v, %v; want [%d]", pids, err, st.Pid)
	}
	if err := rt.Delete("l", false); err == nil {
		t.Fatal("deleted a running container without force")
	}
	must(t, rt.Kill("l", unix.SIGKILL, false))
	for i := 0; i < 1000 && status() != Stopped; i++ {
		// The test process is the init's parent: reap it.
		var ws unix.WaitStatus
		unix.Wait4(st.Pid, &ws, unix.WNOHANG, nil)
		time.Sleep(time.Millisecond)
	}
	if s := status(); s != Stopped {
		t.Fatalf("after kill: %s", s)
	}
	must(t, rt.Delete("l", false))
	if bad := leftovers(t, rt, "l", filepath.Join(b, "rootfs")); len(bad) > 0 {
		t.Fatalf("left behind %v", bad)
	}
}

// Hooks run at their stages with the state on stdin.
func TestHooks(t *testing.T) {
	rt := newRuntime(t)
	logf := filepath.Join(t.TempDir(), "hooks.log")
	hook := func(stage string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "read s; echo " + stage + " $s >> " + logf}}
	}
	b := newBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			CreateRuntime: []specs.Hook{hook("createRuntime")},
			Poststart:     []specs.Hook{hook("poststart")},
			Poststop:      []specs.Hook{hook("poststop")},
		}
	})
	_, _, code, err := runBundle(t, rt, "h", b)
	if err != nil || code != 0 {
		t.Fatal(code, err)
	}
	data, _ := os.ReadFile(logf)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "createRuntime {") || !strings.HasPrefix(lines[1], "poststart") || !strings.HasPrefix(lines[2], "poststop") {
		t.Fatalf("hook log:\n%s", data)
	}
	if !strings.Contains(lines[0], `"id":"h"`) {
		t.Fatalf("hook state lacks the id: %s", lines[0])
	}
}
