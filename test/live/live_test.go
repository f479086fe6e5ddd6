//go:build live

// Package live is brig's live test suite: it runs inside the SELinux
// enforcing, cgroup-v2-only VM that `make vmtest` boots (vm/), as one test
// binary, and checks the kernel's state (process and file labels, mount
// contexts, AVC records, cgroup files) rather than what brig reports.
package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Where vm/run.sh puts the payload.
var (
	demoTar = envOr("LIVE_DEMO_TAR", "/payload/brig-demo.tar")
	image   = "brig-demo"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "live: setup:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// setup refuses to run anywhere but an enforcing, cgroup-v2-only kernel:
// every test here would be meaningless elsewhere.
func setup() error {
	b, err := os.ReadFile("/sys/fs/selinux/enforce")
	if err != nil || strings.TrimSpace(string(b)) != "1" {
		return fmt.Errorf("SELinux is not enforcing (%q, %v): run through `make vmtest`", b, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("/sys/fs/cgroup is not cgroup2: run through `make vmtest`")
	}
	if _, err := os.Stat("/sys/fs/cgroup/brig"); err == nil {
		return fmt.Errorf("/sys/fs/cgroup/brig exists before any test ran")
	}
	start := time.Now()
	out, err := exec.Command("brig", "load", "-i", demoTar).CombinedOutput()
	if err != nil {
		return fmt.Errorf("brig load: %v\n%s", err, out)
	}
	fmt.Printf("live: loaded %s in %.1fs\n", image, time.Since(start).Seconds())
	return nil
}

// brig runs the CLI and returns its stdout; stderr goes into the error.
func brig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "brig", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("brig %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), err
}

func mustBrig(t *testing.T, args ...string) string {
	t.Helper()
	out, err := brig(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exitCode runs brig and returns the exit status (the container's, for
// a foreground run).
func exitCode(t *testing.T, args ...string) int {
	t.Helper()
	_, err := brig(t, args...)
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if e, ok := err.(interface{ Unwrap() error }); ok {
		if x, ok := e.Unwrap().(*exec.ExitError); ok {
			ee = x
		}
	}
	if ee == nil {
		t.Fatal(err)
	}
	return ee.ExitCode()
}

type inspectState struct {
	ID    string `json:"Id"`
	State struct {
		Status    string
		Pid       int
		ExitCode  int
		OOMKilled bool
	}
}

func inspect(t *testing.T, id string) inspectState {
	t.Helper()
	out := mustBrig(t, "inspect", id)
	var list []inspectState
	if err := json.Unmarshal([]byte(out), &list); err == nil && len(list) == 1 {
		return list[0]
	}
	var one inspectState
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("brig inspect %s: %v\n%s", id, err, out)
	}
	return one
}

// runDetached starts a container that sleeps and removes it at the end.
func runDetached(t *testing.T, args ...string) (id string, pid int) {
	t.Helper()
	all := append([]string{"run", "-d"}, args...)
	if !containsImage(args) {
		all = append(all, image, "sleep", "600")
	}
	id = mustBrig(t, all...)
	t.Cleanup(func() { brig(t, "rm", "-f", id) })
	return id, runningPid(t, id)
}

// runningPid is the pid of a running container, or a fatal error with
// its state, logs and the last AVC records.
func runningPid(t *testing.T, id string) int {
	t.Helper()
	st := inspect(t, id)
	if st.State.Pid <= 0 {
		logs, _ := brig(t, "logs", id)
		t.Fatalf("container %s has no pid: %+v\nlogs: %s\nlast AVCs:\n%s", id, st.State, logs, strings.Join(lastN(avcs(t), 4), "\n"))
	}
	return st.State.Pid
}

func containsImage(args []string) bool {
	for _, a := range args {
		if a == image {
			return true
		}
	}
	return false
}

// procLabel is the kernel's view of a process's context.
func procLabel(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/attr/current", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "\x00\n")
}

// fileLabel reads security.selinux.
func fileLabel(t *testing.T, path string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, "security.selinux", buf)
	if err != nil {
		t.Fatalf("getxattr %s: %v", path, err)
	}
	return strings.TrimRight(string(buf[:n]), "\x00")
}

// mountContexts maps mount points of pid's mount namespace to their
// context= option.
func mountContexts(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`context="?([^",\s]+(?:,c\d+)?)"?`)
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		if c := re.FindStringSubmatch(l); c != nil {
			m[f[4]] = c[1]
		}
	}
	return m
}

// avcSince returns the AVC denials logged in the kernel ring buffer that
// match all of the given substrings.
func avcs(t *testing.T, match ...string) []string {
	t.Helper()
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	var hits []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "avc:  denied") && !strings.Contains(l, "avc: denied") {
			continue
		}
		ok := true
		for _, s := range match {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			hits = append(hits, l)
		}
	}
	return hits
}

func levelOf(ctx string) string {
	parts := strings.SplitN(ctx, ":", 4)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

func typeOf(ctx string) string {
	parts := strings.SplitN(ctx, ":", 4)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

func cgroupDir(id string) string { return filepath.Join("/sys/fs/cgroup/brig", id) }

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func lastN(l []string, n int) []string {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}
