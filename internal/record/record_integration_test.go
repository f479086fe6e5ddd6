//go:build integration && linux && amd64

package record

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/internal/profile"
	"github.com/brigrt/brig/internal/testnet"
)

// The test binary doubles as a fake runtime init: with BRIG_RECORD_INIT set
// it does something privileged (as a runtime's setup would), then execs the
// workload. The recorder must see the workload and not the init.
func TestMain(m *testing.M) {
	if os.Getenv("BRIG_RECORD_NONROOT") != "" {
		_, err := Start(Options{Cgroup: "/sys/fs/cgroup/unified"})
		fmt.Println(err)
		os.Exit(0)
	}
	if os.Getenv("BRIG_RECORD_INIT") != "" {
		// CAP_SYS_NICE check: must not appear in the profile.
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, -1); err != nil {
			fmt.Fprintln(os.Stderr, "setpriority:", err)
			os.Exit(3)
		}
		args := strings.Fields(os.Getenv("BRIG_RECORD_INIT"))
		err := unix.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(4)
	}
	os.Exit(m.Run())
}

var cgroups int

// newCgroup makes a cgroup v2 directory and removes it at the end.
func newCgroup(t *testing.T) string {
	t.Helper()
	cgroups++
	dir := filepath.Join("/sys/fs/cgroup/unified", fmt.Sprintf("brig-rec-%d-%d", os.Getpid(), cgroups))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing cgroup: %v", err)
		}
	})
	return dir
}

// runIn runs the fake init, then script under busybox sh, in cgroup dir.
func runIn(t *testing.T, cg, script string) *exec.Cmd {
	t.Helper()
	fd, err := unix.Open(cg, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	sh := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(sh, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BRIG_RECORD_INIT=/bin/busybox sh "+sh)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func workload(dir string, bindPort, connPort int) string {
	return fmt.Sprintf(`set -e
echo data > %[1]s/owned
chown 1234:1234 %[1]s/owned
busybox nc -l -p %[2]d </dev/null >/dev/null & p=$!
sleep 0.3
kill $p
echo hi | busybox nc 127.0.0.1 %[3]d >/dev/null
`, dir, bindPort, connPort)
}

func hasBind(p *profile.Profile, port int) bool {
	for _, e := range p.Network.Bind {
		if int(e.Port) == port {
			return true
		}
	}
	return false
}

func hasConnect(p *profile.Profile, port int) bool {
	for _, e := range p.Network.Connect {
		if int(e.Port) == port && e.Addr == "127.0.0.1" && e.Proto == "tcp" {
			return true
		}
	}
	return false
}

func record(t *testing.T, cg, script string) *profile.Profile {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Start(Options{Cgroup: cg, SkipExec: self, Command: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := runIn(t, cg, script)
	werr := cmd.Wait()
	p, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if werr != nil {
		t.Fatalf("workload: %v", werr)
	}
	st := r.Stats()
	t.Logf("stats: %+v", st)
	// brk/mmap make __vm_enough_memory probe CAP_SYS_ADMIN without
	// auditing: the filter must have dropped those checks, not missed them.
	if st.NoAudit == 0 {
		t.Errorf("no non-audited capability check was filtered; the workload certainly made some")
	}
	return p
}

func scratch(t *testing.T) string {
	// Not tmpfs: written files there are listed one by one.
	dir, err := os.MkdirTemp("/var/tmp", "brig-rec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestRecordWorkload(t *testing.T) {
	cg := newCgroup(t)
	lport := testnet.Listen(t)
	bport := testnet.FreePort(t)
	dir := scratch(t)
	p := record(t, cg, workload(dir, bport, lport))
	b, _ := p.Marshal()
	t.Logf("profile:\n%s", b)

	if c := p.Cap("CHOWN"); c == nil || c.Granted == 0 {
		t.Errorf("CAP_CHOWN not recorded as granted")
	} else if !contains(c.Syscalls, "fchownat") && !contains(c.Syscalls, "chown") && !contains(c.Syscalls, "lchown") {
		t.Errorf("CAP_CHOWN syscalls = %v, want a chown syscall", c.Syscalls)
	}
	for _, name := range []string{"NET_ADMIN", "SYS_ADMIN", "SYS_NICE"} {
		if c := p.Cap(name); c != nil {
			t.Errorf("profile lists %s (%+v): not used by the workload", name, *c)
		}
	}
	if !hasBind(p, bport) {
		t.Errorf("bind port %d missing: %v", bport, p.Network.Bind)
	}
	if !hasConnect(p, lport) {
		t.Errorf("connect 127.0.0.1:%d missing: %v", lport, p.Network.Connect)
	}
	if !contains(p.Files.Written, dir+"/owned") {
		t.Errorf("written files %v lack %s/owned", p.Files.Written, dir)
	}
	if !contains(p.Syscalls, "chown") && !contains(p.Syscalls, "fchownat") {
		t.Errorf("no chown syscall in %v", p.Syscalls)
	}
	for _, s := range []string{"execve", "bind", "connect", "wait4", "exit_group", "rt_sigreturn"} {
		if !contains(p.Syscalls, s) {
			t.Errorf("syscall %s missing from %v", s, p.Syscalls)
		}
	}
	// The fake init's setpriority happened before the workload's execve.
	if contains(p.Syscalls, "setpriority") {
		t.Errorf("the runtime's setpriority was recorded")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestConcurrentRecordingsDoNotMix(t *testing.T) {
	type run struct {
		cg    string
		port  int
		dir   string
		rec   *Recorder
		cmd   *exec.Cmd
		prof  *profile.Profile
		lport int
	}
	self, _ := os.Executable()
	runs := make([]*run, 2)
	for i := range runs {
		lport := testnet.Listen(t)
		runs[i] = &run{cg: newCgroup(t), port: testnet.FreePort(t), dir: scratch(t), lport: lport}
	}
	for _, r := range runs {
		rec, err := Start(Options{Cgroup: r.cg, SkipExec: self})
		if err != nil {
			t.Fatal(err)
		}
		r.rec = rec
	}
	for _, r := range runs {
		r.cmd = runIn(t, r.cg, workload(r.dir, r.port, r.lport))
	}
	for _, r := range runs {
		if err := r.cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		p, err := r.rec.Stop()
		if err != nil {
			t.Fatal(err)
		}
		r.prof = p
	}
	for i, r := range runs {
		o := runs[1-i]
		if !hasBind(r.prof, r.port) || !hasConnect(r.prof, r.lport) || !contains(r.prof.Files.Written, r.dir+"/owned") {
			t.Errorf("recording %d lacks its own events: %+v", i, r.prof.Network)
		}
		if hasBind(r.prof, o.port) || hasConnect(r.prof, o.lport) || contains(r.prof.Files.Written, o.dir+"/owned") {
			t.Errorf("recording %d has the other container's events: %+v %v", i, r.prof.Network, r.prof.Files)
		}
	}
}

// bpfProgs counts the programs loaded in the kernel.
func bpfProgs(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("bpftool", "prog", "show").Output()
	if err != nil {
		t.Fatalf("bpftool: %v", err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasSuffix(f[0], ":") {
			if _, err := strconv.Atoi(strings.TrimSuffix(f[0], ":")); err == nil {
				n++
			}
		}
	}
	return n
}

func ourProgs(t *testing.T) int {
	out, err := exec.Command("bpftool", "prog", "show").Output()
	if err != nil {
		t.Fatalf("bpftool: %v", err)
	}
	n := 0
	for _, name := range []string{"on_capable", "on_exit", "on_task_exit", "on_signal", "on_exec"} {
		n += strings.Count(string(out), " name "+name+" ")
	}
	return n
}

func TestFailureLeavesNothingLoaded(t *testing.T) {
	cg := newCgroup(t)
	// Programs of recorders stopped by earlier tests are freed after an
	// RCU grace period: let them go before taking the baseline.
	settle := time.Now().Add(3 * time.Second)
	for ourProgs(t) != 0 && time.Now().Before(settle) {
		time.Sleep(20 * time.Millisecond)
	}
	before, ours := bpfProgs(t), ourProgs(t)
	testFailAfterAttach = true
	_, err := Start(Options{Cgroup: cg})
	testFailAfterAttach = false
	if err == nil {
		t.Fatal("injected failure did not fail")
	}
	// Program fds are released synchronously on close, but the kernel
	// frees them after an RCU grace period.
	deadline := time.Now().Add(2 * time.Second)
	for ourProgs(t) != ours && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ourProgs(t); got != ours {
		t.Errorf("recorder programs loaded: %d before, %d after a failed Start", ours, got)
	}
	t.Logf("bpftool prog count: %d before, %d after", before, bpfProgs(t))

	// A stopped recorder leaves nothing either.
	r, err := Start(Options{Cgroup: cg})
	if err != nil {
		t.Fatal(err)
	}
	if ourProgs(t) != ours+5 {
		t.Errorf("a running recorder should show 5 programs, got %d", ourProgs(t)-ours)
	}
	if _, err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	for ourProgs(t) != ours && time.Now().Before(deadline.Add(2*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ourProgs(t); got != ours {
		t.Errorf("programs left after Stop: %d", got-ours)
	}
}

func TestBadCgroup(t *testing.T) {
	if _, err := Start(Options{Cgroup: "/sys/fs/cgroup/memory"}); err == nil || !strings.Contains(err.Error(), "cgroup v2") {
		t.Errorf("v1 cgroup: err = %v, want a cgroup v2 error", err)
	}
	if _, err := Start(Options{Cgroup: "/nonexistent"}); err == nil {
		t.Error("missing cgroup: no error")
	}
}

func TestNotRootIsNamed(t *testing.T) {
	// Copy the test binary where an unprivileged user can run it.
	dir, err := os.MkdirTemp("/var/tmp", "brig-rec-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "record.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "BRIG_RECORD_NONROOT=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "needs root") {
		t.Errorf("unprivileged Start said %q, want it to name root", out)
	}
}
