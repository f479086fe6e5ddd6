//go:build live

package live

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// eventCount reads one key of a cgroup v2 *.events file.
func eventCount(t *testing.T, path, key string) int {
	t.Helper()
	for _, l := range strings.Split(readTrim(t, path), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, l, err)
			}
			return n
		}
	}
	t.Fatalf("%s has no %q", path, key)
	return 0
}

// wantFiles checks the contents of files in a cgroup directory; when
// prefixes each complaint.
func wantFiles(t *testing.T, dir, when string, files map[string]string) {
	t.Helper()
	for file, want := range files {
		if got := readTrim(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s%s = %q, want %q", when, file, got, want)
		}
	}
}

// 4. Limits land in the container's own cgroup and are enforced; the
// cgroup is gone after rm.
func TestCgroupLimits(t *testing.T) {
	id, pid := runDetached(t, "--pids-limit", "20", "--memory", "48m", "--cpus", "0.5", image, "sleep", "600")
	dir := cgroupDir(id)
	procs := readTrim(t, filepath.Join(dir, "cgroup.procs"))
	if !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(pid)+"\n") {
		t.Errorf("pid %d is not in %s/cgroup.procs: %q", pid, dir, procs)
	}
	self := readTrim(t, "/proc/"+strconv.Itoa(pid)+"/cgroup")
	if self != "0::/brig/"+id && self != "0::/" {
		t.Errorf("/proc/%d/cgroup = %q, want 0::/brig/%s (or 0::/ in a cgroup namespace)", pid, self, id)
	}
	wantFiles(t, dir, "", map[string]string{
		"pids.max":   "20",
		"memory.max": strconv.Itoa(48 << 20),
		"cpu.max":    "50000 100000",
	})
	mustBrig(t, "rm", "-f", id)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after rm (%v)", dir, err)
	}
}

// 4. A fork loop stops at pids.max.
func TestCgroupPidsMax(t *testing.T) {
	id, _ := runDetached(t, "--pids-limit", "12", image, "sleep", "600")
	dir := cgroupDir(id)
	// The loop runs through exec, in the container's cgroup; its shell
	// fails once fork hits the limit.
	code := exitCode(t, "exec", id, "sh", "-c",
		"i=0; while [ $i -lt 40 ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done")
	if n := eventCount(t, filepath.Join(dir, "pids.events"), "max"); n == 0 {
		t.Fatalf("pids.events max = 0 after a 40-process fork loop (exec exit %d): the limit never bit", code)
	}
	if code == 0 {
		t.Errorf("the fork loop exited 0 although fork failed")
	}
	cur, _ := strconv.Atoi(readTrim(t, filepath.Join(dir, "pids.current")))
	if cur > 12 || cur == 0 {
		t.Errorf("pids.current = %d, want 1..12 (pids.max 12)", cur)
	}
}

// 4. An allocation past memory.max is OOM-killed and inspect says so.
func TestCgroupOOM(t *testing.T) {
	// busybox tail keeps the whole newline-free stream in memory.
	id := mustBrig(t, "run", "-d", "--memory", "32m", image, "sh", "-c", "head -c 200000000 /dev/zero | tail")
	t.Cleanup(func() { brig(t, "rm", "-f", id) })
	if _, err := brig(t, "wait", id); err != nil {
		t.Fatal(err)
	}
	// The cgroup is gone once the container exits; the kernel's OOM
	// report names it.
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "oom_memcg=/brig/"+id) {
		t.Fatalf("the kernel log has no OOM kill in /brig/%s", id)
	}
	st := inspect(t, id)
	if !st.State.OOMKilled {
		t.Errorf("inspect State.OOMKilled = false after the kernel's OOM kill; state %+v", st.State)
	}
}

// 4. brig-runtime alone, with an engine-style cgroupsPath: the limits land
// there and the cgroup goes with delete.
func TestRuntimeCgroupsPath(t *testing.T) {
	const path = "/engine.slice/brig-live-rt"
	s := runtimeSpec(t, "system_u:system_r:container_t:s0:c21,c22", "system_u:object_r:container_file_t:s0:c21,c22", path)
	limit := int64(16)
	mem := int64(40 << 20)
	quota, period := int64(25000), uint64(100000)
	s.Linux.Resources = &specs.LinuxResources{
		Pids:   &specs.LinuxPids{Limit: &limit},
		Memory: &specs.LinuxMemory{Limit: &mem},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	}
	pid, rt, err := runtimeCreateRT(t, "cgpath", s)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("/sys/fs/cgroup", path)
	if got := readTrim(t, "/proc/"+strconv.Itoa(pid)+"/cgroup"); got != "0::"+path && got != "0::/" {
		t.Errorf("/proc/%d/cgroup = %q, want 0::%s", pid, got, path)
	}
	wantFiles(t, dir, "", map[string]string{
		"pids.max":   "16",
		"memory.max": strconv.Itoa(40 << 20),
		"cpu.max":    "25000 100000",
	})
	// update, as runc's: flags and containerd's JSON on stdin.
	if out, err := rt("update", "--memory", "64m", "--pids-limit", "32", "--cpu-quota", "50000", "cgpath"); err != nil {
		t.Fatalf("update: %v: %s", err, out)
	}
	wantFiles(t, dir, "after update, ", map[string]string{
		"pids.max":   "32",
		"memory.max": strconv.Itoa(64 << 20),
		"cpu.max":    "50000 100000",
	})
	if out, err := rt("update", "--cpu-share", "1024", "--memory", "0", "cgpath"); err == nil {
		t.Errorf("update --memory 0 succeeded: %s", out)
	}
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != strconv.Itoa(64<<20) {
		t.Errorf("a refused update changed memory.max to %s", got)
	}
	if out, err := rt("delete", "-f", "cgpath"); err != nil {
		t.Fatalf("delete: %v: %s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after delete (%v)", dir, err)
	}
}
