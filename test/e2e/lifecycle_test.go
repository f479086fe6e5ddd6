//go:build integration && linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunForeground(t *testing.T) {
	out := brig(t, "run", "--rm", "brig-demo", "sh", "-c", "echo out; echo err >&2")
	if out != "out\n" {
		t.Errorf("stdout %q", out)
	}
	_, code := brigFail(t, "run", "--rm", "brig-demo", "sh", "-c", "exit 7")
	if code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	cmd := brigCmd("run", "--rm", "-i", "brig-demo", "cat")
	cmd.Stdin = strings.NewReader("piped\n")
	b, err := cmd.Output()
	if err != nil || string(b) != "piped\n" {
		t.Errorf("-i: %q %v", b, err)
	}
}

func TestDetachedLifecycle(t *testing.T) {
	id := strings.TrimSpace(brig(t, "run", "-d", "--name", "life", "brig-demo", "sh", "-c", "echo hello; trap 'echo bye; exit 3' TERM; while :; do sleep 0.1; done"))
	defer brigCmd("rm", "-f", "life").Run()
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a 64-hex id", id)
	}
	// Names and short-id prefixes work everywhere.
	for _, ref := range []string{"life", id[:12], id[:5]} {
		if in := inspect(t, ref); in.ID != id {
			t.Errorf("inspect %s found %s", ref, in.ID)
		}
	}
	var rows []struct{ ID, Name, Status string }
	if err := json.Unmarshal([]byte(brig(t, "ps", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		found = found || (r.Name == "life" && r.Status == "running")
	}
	if !found {
		t.Fatalf("ps: %+v", rows)
	}
	waitFor(t, func() bool { return strings.Contains(brig(t, "logs", "life"), "hello") })
	if out := brig(t, "exec", "life", "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "sh") {
		t.Errorf("exec sees pid 1 as %q", out)
	}
	if out := brig(t, "top", "life"); !strings.Contains(out, "sh -c") {
		t.Errorf("top: %s", out)
	}
	brig(t, "pause", "life")
	pid := inspect(t, "life").State.Pid
	if st := inspect(t, "life").State.Status; st != "paused" {
		t.Errorf("after pause: %s", st)
	}
	if f, _ := os.ReadFile(freezerState(t, id)); strings.TrimSpace(string(f)) != "FROZEN" {
		t.Errorf("freezer.state = %q", f)
	}
	brig(t, "unpause", "life")
	brig(t, "stop", "-t", "5", "life")
	in := inspect(t, "life")
	if in.State.Status != "exited" || in.State.ExitCode != 3 {
		t.Errorf("after stop: %+v", in.State)
	}
	if out := brig(t, "logs", "life"); !strings.Contains(out, "bye") {
		t.Errorf("logs after stop: %q", out)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("init %d still exists after stop", pid)
	}
	if code := strings.TrimSpace(brig(t, "wait", "life")); code != "3" {
		t.Errorf("wait printed %q", code)
	}
	// A stopped container starts again.
	brig(t, "start", "life")
	if st := inspect(t, "life").State.Status; st != "running" {
		t.Errorf("after start: %s", st)
	}
	brig(t, "kill", "life")
	waitFor(t, func() bool { return inspect(t, "life").State.Status == "exited" })
	if c := inspect(t, "life").State.ExitCode; c != 137 {
		t.Errorf("exit after kill: %d", c)
	}
	brig(t, "rm", "life")
	if bad := leftovers(id); len(bad) > 0 {
		t.Errorf("rm left %v", bad)
	}
}

func freezerState(t *testing.T, id string) string {
	m, _ := filepath.Glob("/sys/fs/cgroup/freezer/brig/" + id + "/freezer.state")
	if len(m) == 0 {
		t.Fatal("no freezer cgroup")
	}
	return m[0]
}

func TestRmAutoRemove(t *testing.T) {
	id := strings.TrimSpace(brig(t, "run", "-d", "--rm", "brig-demo", "true"))
	waitFor(t, func() bool { return len(leftovers(id)) == 0 })
	brig(t, "run", "--rm", "--name", "fg-rm", "brig-demo", "true")
	if _, err := brigCmd("inspect", "fg-rm").Output(); err == nil {
		t.Error("foreground --rm container still exists")
	}
}

// Bad input is refused with a clear message, and leaves nothing behind.
func TestBadInput(t *testing.T) {
	runDetached(t) // one healthy container, to show it is not disturbed
	before := countContainers(t)
	name, _ := runDetached(t)
	stopped := "stopped-" + name
	brig(t, "create", "--name", stopped, "brig-demo", "true")
	defer brigCmd("rm", "-f", stopped).Run()
	before = countContainers(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--cap-addd", "X", "brig-demo"}, "--cap-add"},
		{[]string{"run", "--cap-add", "SYS_FLY", "brig-demo", "true"}, "SYS_FLY"},
		{[]string{"run", "--security-opt", "label=kind:x", "brig-demo", "true"}, "kind"},
		{[]string{"run", "--security-opt", "bogus", "brig-demo", "true"}, "bogus"},
		{[]string{"run", "--pid", "galaxy", "brig-demo", "true"}, "galaxy"},
		{[]string{"run", "no-such-image", "true"}, "no-such-image"},
		{[]string{"run", "--name", name, "brig-demo", "true"}, "already in use"},
		{[]string{"run", "--net", "container:nobody-here", "brig-demo", "true"}, "nobody-here"},
		{[]string{"run", "--pid", "container:" + stopped, "brig-demo", "true"}, "running"},
		{[]string{"run", "--security-opt", "seccomp=" + bad, "brig-demo", "true"}, "seccomp"},
		{[]string{"run", "brig-demo", "no-such-cmd"}, "no-such-cmd"},
	}
	for _, c := range cases {
		stderr, code := brigFail(t, c.args...)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("brig %s: error %q does not mention %q", strings.Join(c.args, " "), stderr, c.want)
		}
		if code == 0 {
			t.Errorf("brig %s: exit 0", strings.Join(c.args, " "))
		}
		if n := countContainers(t); n != before {
			t.Errorf("brig %s left a container behind (%d, was %d)", strings.Join(c.args, " "), n, before)
		}
	}
	if st := inspect(t, name).State.Status; st != "running" {
		t.Errorf("the healthy container is %s", st)
	}
}

func countContainers(t *testing.T) int {
	ents, _ := os.ReadDir(filepath.Join(root, "containers"))
	n := 0
	for _, e := range ents {
		if e.IsDir() {
			n++
		}
	}
	return n
}

// A brig killed with SIGKILL at any point of `run -d` leaves state that
// `rm -f` cleans up completely.
func TestKillDuringRun(t *testing.T) {
	for i := 0; i < 15; i++ {
		name := "k" + strconv.Itoa(i)
		cmd := brigCmd("run", "-d", "--name", name, "brig-demo", "sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*7) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		ids, _ := os.ReadDir(filepath.Join(root, "containers"))
		var id string
		for _, e := range ids {
			b, _ := os.ReadFile(filepath.Join(root, "containers", e.Name(), "container.json"))
			if strings.Contains(string(b), `"name": "`+name+`"`) {
				id = e.Name()
			}
		}
		if id == "" {
			continue // killed before the record existed: nothing to clean
		}
		if out, err := brigCmd("rm", "-f", name).CombinedOutput(); err != nil {
			t.Fatalf("rm -f %s: %v %s", name, err, out)
		}
		if bad := leftovers(id); len(bad) > 0 {
			t.Fatalf("%s: left %v", name, bad)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 100").Output(); len(out) > 0 {
		t.Logf("note: host processes matching 'sleep 100': %s", out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}

// brig update changes a running container's limits in the kernel, and
// they hold across a stop and start; a refused update changes nothing.
func TestUpdate(t *testing.T) {
	name, _ := runDetached(t, "--memory", "64m")
	id := inspect(t, name).ID
	file := func(ctrl, f string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, "brig", id, f))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	check := func(when string) {
		t.Helper()
		for _, c := range [][3]string{
			{"memory", "memory.limit_in_bytes", strconv.Itoa(128 << 20)},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"pids", "pids.max", "30"},
		} {
			if got := file(c[0], c[1]); got != c[2] {
				t.Errorf("%s: %s = %s, want %s", when, c[1], got, c[2])
			}
		}
	}
	brig(t, "update", "--memory", "128m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "30", name)
	check("after update")
	var raw []struct{ Options struct{ Memory, CPUs string } }
	if err := json.Unmarshal([]byte(brig(t, "inspect", name)), &raw); err != nil || raw[0].Options.Memory != "128m" || raw[0].Options.CPUs != "0.5" {
		t.Errorf("inspect after update: %+v, %v", raw, err)
	}
	if msg, _ := brigFail(t, "update", "--memory", "1g", name); !strings.Contains(msg, "swap") {
		t.Errorf("a memory limit above the swap limit: %q", msg)
	}
	if msg, _ := brigFail(t, "update", "--blkio-weight", "5", name); !strings.Contains(msg, "10 to 1000") {
		t.Errorf("a bad weight: %q", msg)
	}
	check("after refused updates")
	brig(t, "stop", "-t", "1", name)
	brig(t, "update", "--pids-limit", "40", name) // a stopped container: its next start
	brig(t, "start", name)
	id = inspect(t, name).ID
	if got := file("pids", "pids.max"); got != "40" {
		t.Errorf("after start, pids.max = %s, want the update made while stopped", got)
	}
	if got := file("memory", "memory.limit_in_bytes"); got != strconv.Itoa(128<<20) {
		t.Errorf("after start, memory limit = %s, want the update made while running", got)
	}
}
