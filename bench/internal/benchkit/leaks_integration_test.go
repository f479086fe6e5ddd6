//go:build integration

package benchkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWatchFindsLeaks leaves one of each kind of leak behind, in the
// kernel, and checks that Watch reports every one, then nothing once they
// are gone. Needs root (a mount and a cgroup directory).
func TestWatchFindsLeaks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts and cgroup directories")
	}
	if err := Subreaper(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mnt := filepath.Join(dir, "mnt")
	for _, d := range []string{state, mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	prefix := "benchkit-test-" + filepath.Base(dir) + "-"
	w, err := NewWatch()
	if err != nil {
		t.Fatal(err)
	}
	w.Match = func(name string) bool { return strings.HasPrefix(name, prefix) }
	w.StateDirs = []string{state}
	w.Markers = []string{dir}
	if l := w.Check(); l.Count() != 0 {
		t.Fatalf("leaks before anything was done: %v", l.Examples(10))
	}

	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	cg := filepath.Join("/sys/fs/cgroup/pids", prefix+"1")
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err != nil {
		cg = filepath.Join("/sys/fs/cgroup", prefix+"1") // cgroup v2
	}
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cg)
	if err := os.WriteFile(filepath.Join(state, "ctr"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A lock file does not count.
	if err := os.WriteFile(filepath.Join(state, ".lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// An orphan: sh exits at once, its sleep is reparented to us.
	if r := Run(Cmd{Args: []string{"sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 &"}, Timeout: 10 * time.Second}); r.Err != nil {
		t.Fatal(r.Err)
	}
	// The orphan may still be between fork and exec (no command line
	// yet): wait until it is the sleep.
	var orphan int
	for i := 0; i < 500 && orphan == 0; i++ {
		for _, pid := range children(os.Getpid()) {
			if strings.HasPrefix(Cmdline(pid), "sleep 30") {
				orphan = pid
			}
		}
		if orphan == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	l := w.Check()
	if len(l.Mounts) != 2 { // in our namespace, and the host's (the marker)
		t.Errorf("mounts: %v, want the tmpfs twice", l.Mounts)
	}
	if len(l.Cgroups) != 1 || l.Cgroups[0] != cg {
		t.Errorf("cgroups: %v, want %s", l.Cgroups, cg)
	}
	if len(l.State) != 1 || !strings.HasSuffix(l.State[0], "/ctr") {
		t.Errorf("state: %v, want the ctr entry only", l.State)
	}
	if orphan == 0 || len(l.Procs) != 1 || !strings.Contains(l.Procs[0], "sleep 30") {
		t.Errorf("processes: %v, want the orphaned sleep (pid %d)", l.Procs, orphan)
	}

	unix.Unmount(mnt, 0)
	os.Remove(cg)
	os.Remove(filepath.Join(state, "ctr"))
	if orphan != 0 {
		unix.Kill(orphan, unix.SIGKILL)
		WaitExit(orphan, 5*time.Second)
	}
	if l := w.Check(); l.Count() != 0 {
		t.Errorf("leaks after cleaning up: %v", l.Examples(10))
	}
}

// TestReap checks that orphans are reaped at once while Run's own children
// keep their exit status. It makes the test binary a subreaper for good.
func TestReap(t *testing.T) {
	if err := Reap(); err != nil {
		t.Fatal(err)
	}
	if r := Run(Cmd{Args: []string{"sh", "-c", "sleep 0.2 </dev/null >/dev/null 2>&1 & exit 0"}, Timeout: 10 * time.Second}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := Run(Cmd{Args: []string{"sh", "-c", "exit 7"}, Timeout: 10 * time.Second}); r.Err == nil || !strings.Contains(r.Err.Error(), "exit status 7") {
		t.Fatalf("Run lost its child's status to the reaper: %v", r.Err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := children(os.Getpid())
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("children not reaped: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
