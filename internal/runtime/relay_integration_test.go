//go:build integration && linux

package runtime

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/slack"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// brig-runtime run passes each signal it relays on to the container's
// process, which traps them all and says which it got.
func TestRunRelaysSignals(t *testing.T) {
	bin := buildRuntime(t)
	rt := newRuntime(t)
	var nums []string
	for _, s := range relaySignals {
		if !ignored(s) {
			nums = append(nums, strconv.Itoa(int(s)))
		}
	}
	for s := sigrtmin; s <= sigrtmax; s++ {
		nums = append(nums, strconv.Itoa(s))
	}
	// A trapped signal interrupts the wait builtin, not a foreground sleep.
	script := `for s in ` + strings.Join(nums, " ") + `; do trap "echo got $s" $s; done; ` +
		`echo ready; while :; do sleep 1000 & wait $!; done`
	b := newBundle(t, []string{"/bin/sh", "-c", script}, nil)
	cmd := exec.Command(bin, "--root", rt.Store.Root, "run", "-b", b, "relay")
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	defer func() {
		_ = exec.Command(bin, "--root", rt.Store.Root, "delete", "--force", "relay").Run()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(20 * time.Second):
			t.Fatal("the container said nothing more")
			return ""
		}
	}
	if l := next(); l != "ready" {
		t.Fatalf("container said %q, want ready", l)
	}
	for _, n := range nums {
		s, _ := strconv.Atoi(n)
		must(t, unix.Kill(cmd.Process.Pid, unix.Signal(s)))
		if l := next(); l != "got "+n {
			t.Fatalf("sent signal %s to brig-runtime run; the container said %q", n, l)
		}
	}
	must(t, exec.Command(bin, "--root", rt.Store.Root, "kill", "relay", "KILL").Run())
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+9 {
		t.Fatalf("run ended with %v, want exit status 137", err)
	}
	if bad := leftovers(t, rt, "relay", ""); len(bad) > 0 {
		t.Fatalf("left behind %v", bad)
	}
}

// A brig-runtime run whose stderr nobody reads any more still finishes
// and cleans up after writing a warning there (an SELinux label on a host
// without SELinux), rather than die of SIGPIPE with its container left.
func TestRunClosedStderr(t *testing.T) {
	if selinuxEnabled() {
		t.Skip("needs a host without SELinux, where a label is warned about")
	}
	bin := buildRuntime(t)
	rt := newRuntime(t)
	b := newBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	})
	r, w, err := os.Pipe()
	must(t, err)
	r.Close()
	cmd := exec.Command(bin, "--root", rt.Store.Root, "run", "-b", b, "epipe")
	cmd.Stderr = w
	err = cmd.Run()
	w.Close()
	if err != nil {
		t.Fatalf("run with a closed stderr: %v", err)
	}
	if bad := leftovers(t, rt, "epipe", ""); len(bad) > 0 {
		t.Fatalf("left behind %v", bad)
	}
}

// The runtime calms its sysmon with timer slack (internal/slack), but the
// container's process gets the slack the runtime was started with, and
// the runtime's main thread keeps it: the kernel's view of all three.
func TestTimerSlack(t *testing.T) {
	bin := buildRuntime(t)
	rt := newRuntime(t)
	b := newBundle(t, []string{"/bin/sh", "-c", "cat /proc/self/timerslack_ns; exec sleep 30"}, nil)
	const want = "123456"
	// A thread of our own with that slack starts the runtime, which
	// inherits it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	must(t, err)
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, 123456, 0, 0, 0))
	cmd := exec.Command(bin, "--root", rt.Store.Root, "run", "-b", b, "slack")
	out, err := cmd.StdoutPipe()
	must(t, err)
	err = cmd.Start()
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0))
	must(t, err)
	defer func() {
		_ = exec.Command(bin, "--root", rt.Store.Root, "delete", "--force", "slack").Run()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != want {
		t.Fatalf("container's timer slack %q (%v), want %s", line, err, want)
	}
	slackOf := func(tid string) string {
		b, _ := os.ReadFile("/proc/" + tid + "/timerslack_ns")
		return strings.TrimSpace(string(b))
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if got := slackOf(pid); got != want {
		t.Errorf("runtime's main thread slack %s, want %s", got, want)
	}
	tids, err := os.ReadDir("/proc/" + pid + "/task")
	must(t, err)
	stretched := 0
	for _, d := range tids {
		if slackOf(d.Name()) == strconv.Itoa(slack.Slack) {
			stretched++
		}
	}
	if stretched != 1 {
		t.Errorf("%d of the runtime's %d threads have slack %d, want 1 (sysmon)", stretched, len(tids), slack.Slack)
	}
	// exec: the exec'd process gets the slack of the `exec` that made it.
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, 222222, 0, 0, 0))
	got, err := exec.Command(bin, "--root", rt.Store.Root, "exec", "slack", "cat", "/proc/self/timerslack_ns").Output()
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0))
	if err != nil || strings.TrimSpace(string(got)) != "222222" {
		t.Errorf("exec'd process's timer slack %q (%v), want 222222", got, err)
	}
}
