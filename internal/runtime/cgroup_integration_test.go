//go:build integration && linux

package runtime

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The container's processes are in the container's cgroup on every
// hierarchy, read from the kernel (/proc/PID/cgroup): the init moves its
// own thread into the v1 hierarchies and is cloned into the unified one,
// exec'd processes the same way.
func TestProcessesInContainerCgroups(t *testing.T) {
	for _, old := range []bool{false, true} {
		name := "clone3"
		if old {
			name = "kernel-without-clone-into-cgroup"
		}
		t.Run(name, func(t *testing.T) {
			testOldKernel = old
			defer func() { testOldKernel = false }()
			testProcessesInCgroups(t)
		})
	}
}

func testProcessesInCgroups(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"sleep", "30"}, nil)
	st, err := rt.Create("cg", CreateOpts{Bundle: b})
	must(t, err)
	defer rt.Delete("cg", true)
	// Created, not started: the init's main thread, the one that will
	// exec the container's process, is already in place.
	checkCgroups(t, st.Pid, st.Pid, st.Cgroup.Path)
	must(t, rt.Start("cg"))
	waitExec(t, st.Pid, "sleep")
	checkCgroups(t, st.Pid, st.Pid, st.Cgroup.Path)
	if n := threads(t, st.Pid); n != 1 {
		t.Errorf("container process has %d threads after execve, want 1", n)
	}

	p, err := rt.BaseProcess("cg")
	must(t, err)
	p.Args = []string{"sleep", "30"}
	pidFile := t.TempDir() + "/pid"
	if _, err := rt.Exec("cg", ExecOpts{Process: p, Detach: true, PidFile: pidFile}); err != nil {
		t.Fatalf("exec: %v", err)
	}
	b2, err := os.ReadFile(pidFile)
	must(t, err)
	epid, err := strconv.Atoi(strings.TrimSpace(string(b2)))
	must(t, err)
	waitExec(t, epid, "sleep")
	// Seen from the host: the container has its own cgroup namespace, in
	// which the process would see "/".
	checkCgroups(t, epid, epid, st.Cgroup.Path)
	if n := threads(t, epid); n != 1 {
		t.Errorf("exec'd process has %d threads, want 1", n)
	}
	pids, err := st.Cgroup.Pids()
	must(t, err)
	if len(pids) != 2 {
		t.Errorf("cgroup lists %v, want the init %d and the exec'd %d", pids, st.Pid, epid)
	}
	must(t, rt.Kill("cg", 9, true))
}

// checkCgroups reads /proc/PID/task/TID/cgroup and wants every hierarchy
// (v1 controllers and the unified "0::" line) at path.
func checkCgroups(t *testing.T, pid, tid int, path string) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/cgroup")
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 {
		t.Fatalf("cgroup file: %q", data)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ":"+path) {
			t.Errorf("pid %d thread %d: %q is not in %s", pid, tid, l, path)
		}
	}
}

func threads(t *testing.T, pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	must(t, err)
	return len(ents)
}

// waitExec waits until pid runs comm (the init has exec'd it).
func waitExec(t *testing.T, pid int, comm string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(b)) == comm {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d never exec'd %s", pid, comm)
}

// TestCgroupMountView: the container's /sys/fs/cgroup shows its own
// cgroups, read-only, with or without a cgroup namespace.
func TestCgroupMountView(t *testing.T) {
	if cgroup.Unified() {
		t.Skip("checks the v1 hierarchies; this host has cgroup v2 only")
	}
	script := `cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; cat /proc/self/cgroup; ` +
		`touch /sys/fs/cgroup/pids/x 2>&1; readlink /sys/fs/cgroup/cpu; ` +
		`grep ' /sys/fs/cgroup/' /proc/self/mountinfo`
	for _, c := range []struct{ cgns, old bool }{{true, false}, {false, false}, {true, true}} {
		cgns := c.cgns
		name := "cgroupns=" + strconv.FormatBool(cgns)
		if c.old {
			name += "/kernel-without-mount-api"
		}
		t.Run(name, func(t *testing.T) {
			testOldKernel = c.old
			defer func() { testOldKernel = false }()
			b := newBundle(t, []string{"/bin/sh", "-c", script}, func(s *specs.Spec) {
				var ns []specs.LinuxNamespace
				for _, n := range s.Linux.Namespaces {
					if n.Type != specs.CgroupNamespace {
						ns = append(ns, n)
					}
				}
				if cgns {
					ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
				}
				s.Linux.Namespaces = ns
			})
			out, errOut, code, err := runBundle(t, newRuntime(t), "view", b)
			if err != nil || code != 0 {
				t.Fatalf("run: %d %v\n%s", code, err, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			// Only the container's own processes: the shell, and cat
			// while it reads the list.
			if n, _ := strconv.Atoi(strings.TrimSpace(lines[0])); n < 1 || n > 3 {
				t.Errorf("pids cgroup.procs lists %q processes, want the container's only", lines[0])
			}
			if !strings.Contains(out, "Read-only file system") {
				t.Errorf("the cgroup mount is writable:\n%s", out)
			}
			mounts := 0
			for _, l := range lines {
				if strings.Contains(l, " - cgroup ") {
					mounts++
					opts := "," + strings.Fields(l)[5] + ","
					for _, o := range []string{",ro,", ",nosuid,", ",nodev,", ",noexec,"} {
						if !strings.Contains(opts, o) {
							t.Errorf("not %s: %s", strings.Trim(o, ","), l)
						}
					}
				}
				if cgns && strings.Contains(l, ":pids:") && !strings.HasSuffix(l, ":/") {
					t.Errorf("in its own cgroup namespace the container should be at its root: %s", l)
				}
			}
			if mounts < 2 {
				t.Errorf("%d cgroup hierarchies mounted:\n%s", mounts, out)
			}
			// Co-mounted controllers are reached through symlinks, as on
			// the host.
			if host, err := os.Readlink("/sys/fs/cgroup/cpu"); err == nil && !strings.Contains(out, "\n"+host+"\n") {
				t.Errorf("/sys/fs/cgroup/cpu is not a symlink to %s:\n%s", host, out)
			}
		})
	}
}

// TestDeleteForceKillsEverything: delete --force of a paused container
// leaves none of its processes, cgroups or state. With its own pid
// namespace the kernel takes the rest down with the init; sharing the
// host's, a process outlives the init and has to be found in the cgroup
// and killed.
func TestDeleteForceKillsEverything(t *testing.T) {
	for _, hostPID := range []bool{false, true} {
		t.Run("host-pid="+strconv.FormatBool(hostPID), func(t *testing.T) {
			rt := newRuntime(t)
			b := newBundle(t, []string{"sh", "-c", "sleep 100 & exec sleep 101"}, func(s *specs.Spec) {
				if hostPID {
					var ns []specs.LinuxNamespace
					for _, n := range s.Linux.Namespaces {
						if n.Type != specs.PIDNamespace {
							ns = append(ns, n)
						}
					}
					s.Linux.Namespaces = ns
				}
			})
			st, err := rt.Create("d", CreateOpts{Bundle: b})
			must(t, err)
			defer rt.Delete("d", true)
			must(t, rt.Start("d"))
			waitExec(t, st.Pid, "sleep")
			var pids []int
			for i := 0; i < 500 && len(pids) < 2; i++ {
				pids, _ = rt.Pids("d")
				time.Sleep(10 * time.Millisecond)
			}
			if len(pids) != 2 {
				t.Fatalf("pids = %v, want the init and its background sleep", pids)
			}
			must(t, rt.Pause("d"))
			must(t, rt.Delete("d", true))
			for _, p := range pids {
				if s, err := readStat(p); err == nil && s.state != 'Z' && s.state != 'X' {
					t.Errorf("pid %d survived delete --force (state %c)", p, s.state)
				}
			}
			if bad := leftovers(t, rt, "d", ""); len(bad) > 0 {
				t.Fatalf("left behind %v", bad)
			}
		})
	}
}

// update changes a running container's limits in the kernel and in its
// saved spec, through the API and through brig-runtime's command line as
// engines call it; a refused update changes nothing.
func TestUpdate(t *testing.T) {
	if cgroup.Unified() {
		t.Skip("reads the v1 files; the VM suite covers v2")
	}
	bin := buildRuntime(t)
	rt := newRuntime(t)
	b := newBundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(128 << 20)},
			Pids:   &specs.LinuxPids{Limit: i64p(50)},
		}
	})
	st, err := rt.Create("up", CreateOpts{Bundle: b})
	must(t, err)
	defer rt.Delete("up", true)
	must(t, rt.Start("up"))
	file := func(ctrl, name string) string {
		data, err := os.ReadFile(st.Cgroup.V1[ctrl] + "/" + name)
		must(t, err)
		return strings.TrimSpace(string(data))
	}
	memsw := func() string {
		if _, err := os.Stat(st.Cgroup.V1["memory"] + "/memory.memsw.limit_in_bytes"); err != nil {
			return "none"
		}
		return file("memory", "memory.memsw.limit_in_bytes")
	}

	must(t, rt.Update("up", &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64p(96 << 20)},
		CPU:    &specs.LinuxCPU{Quota: i64p(20000), Period: u64p(100000)},
	}))
	if got := file("memory", "memory.limit_in_bytes"); got != strconv.Itoa(96<<20) {
		t.Errorf("memory limit = %s after update", got)
	}
	if got := file("cpu", "cpu.cfs_quota_us"); got != "20000" {
		t.Errorf("cfs quota = %s after update", got)
	}
	if got := file("pids", "pids.max"); got != "50" {
		t.Errorf("pids.max = %s, want the limit the update left alone", got)
	}
	saved, err := rt.Store.Load("up")
	must(t, err)
	if r := saved.Spec.Linux.Resources; *r.Memory.Limit != 96<<20 || *r.Memory.Swap != 128<<20 || *r.CPU.Quota != 20000 || *r.Pids.Limit != 50 {
		t.Errorf("saved resources: memory %d/%d, quota %d, pids %d", *r.Memory.Limit, *r.Memory.Swap, *r.CPU.Quota, *r.Pids.Limit)
	}

	// The command line: containerd's JSON on stdin, then runc's flags.
	cmd := exec.Command(bin, "--root", rt.Store.Root, "update", "--resources", "-", "up")
	cmd.Stdin = strings.NewReader(`{"pids":{"limit":20},"cpu":{"shares":256}}`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update --resources -: %v\n%s", err, out)
	}
	if got := file("pids", "pids.max"); got != "20" {
		t.Errorf("pids.max = %s after update --resources", got)
	}
	if got := file("cpu", "cpu.shares"); got != "256" {
		t.Errorf("cpu.shares = %s after update --resources", got)
	}
	out, err := exec.Command(bin, "--root", rt.Store.Root, "update", "--memory", "200m", "--memory-swap", "400m", "--pids-limit", "30", "up").CombinedOutput()
	if err != nil {
		t.Fatalf("update with flags: %v\n%s", err, out)
	}
	if got := file("memory", "memory.limit_in_bytes"); got != strconv.Itoa(200<<20) {
		t.Errorf("memory limit = %s after update --memory 200m", got)
	}
	if sw := memsw(); sw != "none" && sw != strconv.Itoa(400<<20) {
		t.Errorf("memsw limit = %s after update --memory-swap 400m", sw)
	}

	// Refused: nothing changes, in the kernel or the saved spec.
	before := file("memory", "memory.limit_in_bytes") + " " + memsw() + " " + file("pids", "pids.max")
	for _, args := range [][]string{
		{"--memory", "1g"}, // above the swap limit
		{"--memory", "lots"},
		{"--resources", "-", "--pids-limit", "5"},
		{"--blkio-weight", "5"},
	} {
		cmd := exec.Command(bin, append(append([]string{"--root", rt.Store.Root, "update"}, args...), "up")...)
		cmd.Stdin = strings.NewReader(`{}`)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("update %v succeeded: %s", args, out)
		}
	}
	// containerd sends the whole resources, device rules included: they
	// are left as created.
	devices := file("devices", "devices.list")
	cmd = exec.Command(bin, "--root", rt.Store.Root, "update", "-r", "-", "up")
	cmd.Stdin = strings.NewReader(`{"devices":[{"allow":true,"access":"rwm"}],"pids":{"limit":30}}`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("an update carrying device rules: %v %s", err, out)
	}
	if got := file("devices", "devices.list"); got != devices {
		t.Errorf("an update changed the device rules:\n%s\n->\n%s", devices, got)
	}
	cmd = exec.Command(bin, "--root", rt.Store.Root, "update", "-r", "-", "up")
	cmd.Stdin = strings.NewReader(`{"memory":{"limit":4096,"checkBeforeUpdate":true}}`)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "uses now") {
		t.Errorf("a limit below the usage with checkBeforeUpdate: %v %s", err, out)
	}
	if after := file("memory", "memory.limit_in_bytes") + " " + memsw() + " " + file("pids", "pids.max"); after != before {
		t.Errorf("a refused update changed the limits: %s -> %s", before, after)
	}

	must(t, rt.Kill("up", unix.SIGKILL, false))
	var ws unix.WaitStatus
	_, _ = unix.Wait4(st.Pid, &ws, 0, nil)
	if err := rt.Update("up", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(10)}}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("update of a stopped container: %v", err)
	}
}
