//go:build integration && linux

package runtime

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

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
