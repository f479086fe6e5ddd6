//go:build integration

package capview

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/procscan"
)

// TestLiveMatchesPscap starts processes with the capability shapes of
// pscap_cases.tsv (bounding-only, ambient, non-root, child user namespace,
// a comm with spaces), then compares their rows in "pscap -a" and in our
// pscap listing byte for byte. Needs root (setpriv, unshare) and pscap.
func TestLiveMatchesPscap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give processes chosen capability sets")
	}
	pscap, err := exec.LookPath("pscap")
	if err != nil {
		t.Fatal("pscap missing (apt-get install libcap-ng-utils):", err)
	}
	dir := t.TempDir()
	odd := filepath.Join(dir, "my proc (x) y")
	if err := os.Symlink("/bin/sleep", odd); err != nil {
		t.Fatal(err)
	}
	shapes := [][]string{
		{"sleep", "60"},
		{"setpriv", "--bounding-set=-all,+sys_time", "sleep", "60"},
		{"setpriv", "--reuid=1", "--regid=1", "--clear-groups", "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "sleep", "60"},
		{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"},
		{"setpriv", "--bounding-set=-all,+net_raw,+chown", "sleep", "60"},
		{"unshare", "--user", "--map-root-user", "sleep", "60"},
		{odd, "60"},
	}
	pids := map[string]bool{}
	for _, argv := range shapes {
		c := exec.Command(argv[0], argv[1:]...)
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		pids[strconv.Itoa(c.Process.Pid)] = true
	}
	// Wait until every child has exec'd "sleep" (setpriv and unshare exec it).
	deadline := time.Now().Add(5 * time.Second)
	for pid := range pids {
		for {
			b, _ := os.ReadFile("/proc/" + pid + "/comm")
			s := strings.TrimSpace(string(b))
			if s == "sleep" || s == "my proc (x) y" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %s still %q", pid, s)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want, err := exec.Command(pscap, "-a").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := (&Viewer{}).List(&got, true, FormatPscap); err != nil {
		t.Fatal(err)
	}
	pick := func(out string) (string, []string) {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		var rows []string
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) > 1 && pids[f[1]] {
				rows = append(rows, l)
			}
		}
		return lines[0], rows
	}
	wh, wr := pick(string(want))
	gh, gr := pick(got.String())
	if wh != gh {
		t.Fatalf("header %q, pscap %q", gh, wh)
	}
	if strings.Join(gr, "\n") != strings.Join(wr, "\n") {
		t.Fatalf("rows differ\nbrig:\n%s\npscap:\n%s", strings.Join(gr, "\n"), strings.Join(wr, "\n"))
	}
	if !strings.Contains(strings.Join(wr, "\n"), "sleep *             full +") {
		t.Fatalf("no child user namespace row:\n%s", strings.Join(wr, "\n"))
	}
	// The nobody process has no capabilities: neither lists it.
	if len(wr) != len(shapes)-1 {
		t.Fatalf("pscap listed %d of our processes, want %d:\n%s", len(wr), len(shapes)-1, strings.Join(wr, "\n"))
	}
}

// TestLiveBrigCgroup puts a process into brig's cgroup layout
// (brig/<64-hex id> under each hierarchy root) and checks that the listing
// names it through the injected Namer and that "caps CONTAINER" finds it
// by name (through the Resolver) and by id prefix.
func TestLiveBrigCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	id := strings.Repeat("b1", 32)
	c := exec.Command("setpriv", "--bounding-set=-all,+chown,+sys_time", "sleep", "60")
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pid := c.Process.Pid
	mounts, err := procscan.CgroupMounts()
	if err != nil || len(mounts) == 0 {
		t.Fatalf("no cgroup mounts: %v", err)
	}
	var made []string
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	})
	joined := 0
	for _, m := range mounts {
		parent := filepath.Join(m.Dir, "brig")
		if _, err := os.Stat(parent); os.IsNotExist(err) {
			if os.Mkdir(parent, 0o755) == nil {
				made = append(made, parent)
			}
		}
		leaf := filepath.Join(parent, id)
		if err := os.Mkdir(leaf, 0o755); err != nil {
			continue
		}
		made = append(made, leaf)
		if os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644) == nil {
			joined++
		}
	}
	if joined == 0 {
		t.Fatal("could not move the process into any brig cgroup")
	}
	// The kernel's own view of the process's cgroup must be brig's layout.
	cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if r, _, ok := FromProcCgroup(string(cg)); !ok || r.Engine != "brig" || r.ID != id {
		t.Fatalf("/proc/%d/cgroup:\n%s", pid, cg)
	}
	v := &Viewer{
		Names:   func(i string) (string, bool) { return "web", i == id },
		Resolve: func(s string) (string, error) { return id, nil },
	}
	var out bytes.Buffer
	if err := v.List(&out, false, FormatTable); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[1] == strconv.Itoa(pid) {
			found = f[4] == "web"
		}
	}
	if !found {
		t.Fatalf("pid %d not shown as web:\n%s", pid, out.String())
	}
	for _, arg := range []string{"web", id[:10]} {
		if arg != "web" {
			v.Resolve = nil
		}
		out.Reset()
		if err := v.Container(&out, arg, ContainerOptions{Diff: true}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if !strings.Contains(s, "pid "+strconv.Itoa(pid)+" ") || !strings.Contains(s, "bounding     chown, sys_time") ||
			!strings.Contains(s, "effective: +sys_time, -dac_override,") {
			t.Fatalf("caps %s:\n%s", arg, s)
		}
	}
}
