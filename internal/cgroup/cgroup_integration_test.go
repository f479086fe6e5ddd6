//go:build integration && linux

package cgroup

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64p(v int64) *int64 { return &v }

// sleeper starts a sleep in a new cgroup at path; the caller kills it.
func sleeper(t *testing.T, path string) (*Manager, *exec.Cmd) {
	t.Helper()
	m, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	return m, cmd
}

func TestApplySetDestroy(t *testing.T) {
	path := fmt.Sprintf("/brig-cgtest/%d", os.Getpid())
	m, cmd := sleeper(t, path)
	defer cmd.Process.Kill()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if err := m.Destroy(); err != nil {
			t.Error(err)
		}
		for _, d := range m.dirs() {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%s survives Destroy", d)
			}
		}
		for _, d := range m.dirs() {
			os.Remove(filepath.Dir(d))
		}
	}()
	shares := uint64(512)
	quota, period := int64(50000), uint64(100000)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64p(64 << 20)},
		Pids:   &specs.LinuxPids{Limit: i64p(10)},
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period, Cpus: "0"},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64p(10), Minor: i64p(200), Access: "rw"},
			{Allow: true, Type: "b", Major: i64p(8), Access: "r"},
		},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	pids, err := m.Pids()
	if err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("Pids = %v, %v", pids, err)
	}
	// The kernel's view of what was set.
	check := func(dir, file, want string) {
		got, err := read(dir, file)
		if err != nil || got != want {
			t.Errorf("%s/%s = %q (%v), want %q", dir, file, got, err, want)
		}
	}
	if Unified() {
		check(m.V2, "memory.max", "67108864")
		check(m.V2, "pids.max", "10")
		check(m.V2, "cpu.max", "50000 100000")
	} else {
		check(m.V1["memory"], "memory.limit_in_bytes", "67108864")
		check(m.V1["pids"], "pids.max", "10")
		check(m.V1["cpu"], "cpu.cfs_quota_us", "50000")
		check(m.V1["cpu"], "cpu.shares", "512")
		check(m.V1["cpuset"], "cpuset.cpus", "0")
		// Every rule landed, in order, each its own write.
		list, _ := read(m.V1["devices"], "devices.list")
		want := []string{"c 10:200 rw", "b 8:* r"}
		for _, d := range DefaultAllows {
			s, _ := ruleString(d)
			want = append(want, s)
		}
		for _, w := range want {
			if !strings.Contains("\n"+list+"\n", "\n"+w+"\n") {
				t.Errorf("devices.list lacks %q:\n%s", w, list)
			}
		}
		if strings.Contains(list, "a *:* rwm") {
			t.Errorf("devices.list still allows everything:\n%s", list)
		}
		self, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
		if !strings.Contains(string(self), path) {
			t.Errorf("process cgroups: %s", self)
		}
	}
	if err := m.Freeze(true); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.Frozen(); !f {
		t.Error("not frozen")
	}
	if err := m.Freeze(false); err != nil {
		t.Fatal(err)
	}
}

// The v2 device filter, attached to a cgroup on the unified hierarchy
// (on this hybrid host, the kernel checks both v1 rules and v2 programs).
func TestDeviceFilterV2(t *testing.T) {
	base := Root
	if !Unified() {
		base = filepath.Join(Root, "unified")
	}
	dir := filepath.Join(base, fmt.Sprintf("brig-devtest-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	deny := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	if err := setDevicesV2(dir, []specs.LinuxDeviceCgroup{deny}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "read x; (exec 3</dev/kmsg) 2>&1 && echo kmsg-opened; (exec 3</dev/null) && echo null-opened")
	in, _ := cmd.StdinPipe()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := write(dir, "cgroup.procs", fmt.Sprint(cmd.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("go\n"))
	in.Close()
	cmd.Wait()
	s := out.String()
	if strings.Contains(s, "kmsg-opened") || !strings.Contains(s, "Operation not permitted") {
		t.Errorf("/dev/kmsg not denied: %q", s)
	}
	if !strings.Contains(s, "null-opened") {
		t.Errorf("/dev/null (a default device) denied: %q", s)
	}
}

// Destroy removes child cgroups (a container with a cgroup namespace can
// make them) before their parent, in every hierarchy; TryDestroy refuses
// while a task is inside and leaves everything in place.
func TestDestroyNested(t *testing.T) {
	m, cmd := sleeper(t, fmt.Sprintf("/brig-cgtest/nested-%d", os.Getpid()))
	defer cmd.Process.Kill()
	dirs := m.dirs()
	defer func() {
		for _, d := range dirs {
			os.Remove(filepath.Join(d, "a", "b"))
			os.Remove(filepath.Join(d, "a"))
			os.Remove(d)
			os.Remove(filepath.Dir(d))
		}
	}()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(d, "a", "b"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TryDestroy(); err == nil {
		t.Fatal("TryDestroy succeeded with a task inside")
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("failed TryDestroy removed %s: %v", d, err)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := m.TryDestroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s survives Destroy: %v", d, err)
		}
	}
}

// A v1 cpuset cgroup needs cpus and mems before a task can join it. The
// parents brig makes get clone_children, so the kernel fills their later
// children; a child of a parent without it is filled from the parent.
func TestCpusetInherit(t *testing.T) {
	if Unified() {
		t.Skip("cpuset v1 only: this host runs cgroup v2 alone")
	}
	base := fmt.Sprintf("/brig-cgtest/cpuset-%d", os.Getpid())
	var made []*Manager
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			made[i].Destroy()
		}
		if len(made) > 0 {
			for _, d := range made[0].dirs() {
				os.Remove(filepath.Join(filepath.Dir(d), "plain"))
				os.Remove(filepath.Dir(d))
				os.Remove(filepath.Dir(filepath.Dir(d)))
			}
		}
	}()
	create := func(path string) string {
		m, err := New(path)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, m)
		if err := m.CreateV1(); err != nil {
			t.Fatal(err)
		}
		return m.V1["cpuset"]
	}
	want, err := read(filepath.Join(Root, "cpuset"), "cpuset.cpus")
	if err != nil {
		t.Fatal(err)
	}
	first := create(base + "/a")
	if v, _ := read(filepath.Dir(first), "cgroup.clone_children"); v != "1" {
		t.Errorf("clone_children of the parent brig made = %q, want 1", v)
	}
	second := create(base + "/b")
	// A parent brig did not make: no clone_children.
	if err := os.Mkdir(filepath.Join(Root, "cpuset", base, "plain"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := write(filepath.Join(Root, "cpuset", base, "plain"), "cpuset.cpus", want); err != nil {
		t.Fatal(err)
	}
	mems, _ := read(filepath.Join(Root, "cpuset"), "cpuset.mems")
	if err := write(filepath.Join(Root, "cpuset", base, "plain"), "cpuset.mems", mems); err != nil {
		t.Fatal(err)
	}
	third := create(base + "/plain/c")
	for _, d := range []string{first, second, third} {
		if v, _ := read(d, "cpuset.cpus"); v != want {
			t.Errorf("%s: cpuset.cpus = %q, want %q", d, v, want)
		}
		if v, _ := read(d, "cpuset.mems"); v != mems {
			t.Errorf("%s: cpuset.mems = %q, want %q", d, v, mems)
		}
	}
}

// NewCached finds what New finds, whether its file is missing, fresh,
// stale (a mount id the kernel no longer has) or garbage, and rewrites
// the file when it could not use it.
func TestNewCached(t *testing.T) {
	if Unified() {
		t.Skip("the cache is of v1 hierarchies: this host runs cgroup v2 alone")
	}
	want, err := New("/brig-cgtest/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mountID(Root); !ok {
		t.Skip("this kernel has no unique mount ids (Linux 6.8): nothing is cached")
	}
	cache := filepath.Join(t.TempDir(), "mounts")
	check := func(what string) {
		t.Helper()
		got, err := NewCached("/brig-cgtest/x", cache)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %+v, %v; want %+v", what, got, err, want)
		}
	}
	check("no file")
	fresh, err := os.ReadFile(cache)
	if err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	check("fresh file")
	// A stale id: the file must be replaced by a fresh one.
	lines := bytes.SplitAfter(fresh, []byte("\n"))
	lines[2] = append([]byte("1"), lines[2]...) // the first mount's id, changed
	stale := bytes.Join(lines, nil)
	if _, _, ok := parseCache(stale, mustHier(t)); !ok {
		t.Fatalf("the stale file does not parse:\n%s", stale)
	}
	if err := os.WriteFile(cache, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	check("stale file")
	if b, _ := os.ReadFile(cache); !bytes.Equal(b, fresh) {
		t.Errorf("stale file not rewritten:\n%s", b)
	}
	if err := os.WriteFile(cache, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("garbage")
	if b, _ := os.ReadFile(cache); !bytes.Equal(b, fresh) {
		t.Errorf("garbage not rewritten:\n%s", b)
	}
}

func mustHier(t *testing.T) string {
	h, err := hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
