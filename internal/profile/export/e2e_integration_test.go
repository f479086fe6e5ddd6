//go:build integration && linux && amd64

package export

// End to end at the library level: record a busybox workload, export the
// profile, and run the same workload again confined by exactly the export
// (capabilities, seccomp through internal/seccomp, Landlock). It must
// still work, and everything it did not do must now fail the way the
// issue says. The container lifecycle (brig run --record/--profile) wires
// the same calls.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	mseccomp "github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/record"
	"github.com/brigrt/brig/internal/seccomp"
	"github.com/brigrt/brig/internal/testnet"
)

// confine is what the helper applies before exec'ing the workload.
type confine struct {
	Caps     []string
	Seccomp  []byte // Docker-format JSON
	Landlock string
	Argv     []string
}

func TestMain(m *testing.M) {
	if v := os.Getenv("BRIG_E2E_CONFINE"); v != "" {
		var c confine
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(90)
		}
		if err := apply(c); err != nil {
			fmt.Fprintln(os.Stderr, "confine:", err)
			os.Exit(91)
		}
		err := unix.Exec(c.Argv[0], c.Argv, os.Environ())
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(92)
	}
	os.Exit(m.Run())
}

// apply does what brig's init does, in its order: capabilities, Landlock,
// then seccomp last (it must allow only what the workload needs).
func apply(c confine) error {
	runtime.LockOSThread()
	var list []capability.Cap
	for _, n := range c.Caps {
		v, err := caps.Parse(n)
		if err != nil {
			return err
		}
		list = append(list, capability.Cap(v))
	}
	pc, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	pc.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	pc.Set(capability.BOUNDING|capability.PERMITTED|capability.EFFECTIVE, list...)
	if err := pc.Apply(capability.CAPS | capability.BOUNDS | capability.AMBS); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	rules, err := landlock.Parse(c.Landlock)
	if err != nil {
		return err
	}
	applied, err := landlock.Apply(rules)
	if err != nil {
		return err
	}
	if applied.Rules.String() != rules.String() {
		return fmt.Errorf("landlock applied %q, not %q: %v", applied.Rules.String(), rules.String(), applied.Warnings)
	}
	sp, err := profileFromJSON(c.Seccomp)
	if err != nil {
		return err
	}
	prog, err := seccomp.Compile(sp)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, err = seccomp.Load(prog)
	return err
}

func cgroup(t *testing.T) string {
	dir := filepath.Join("/sys/fs/cgroup/unified", fmt.Sprintf("brig-e2e-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	return dir
}

func inCgroup(cg string, cmd *exec.Cmd) (func(), error) {
	fd, err := unix.Open(cg, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	return func() { unix.Close(fd) }, nil
}

func TestRecordExportEnforce(t *testing.T) {
	cg := cgroup(t)
	dir, err := os.MkdirTemp("/var/tmp", "brig-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bind, conn := testnet.FreePort(t), testnet.Listen(t)
	otherConn, otherBind := testnet.Listen(t), testnet.FreePort(t)
	workload := fmt.Sprintf(`set -e
echo data > %[1]s/owned
chown 1234:1234 %[1]s/owned
busybox nc -l -p %[2]d </dev/null >/dev/null & p=$!
sleep 0.3
kill $p
echo hi | busybox nc 127.0.0.1 %[3]d >/dev/null
echo workload-ok
`, dir, bind, conn)
	script := filepath.Join(dir, "w.sh")
	os.WriteFile(script, []byte(workload), 0o644)

	// 1. Record.
	rec, err := record.Start(record.Options{Cgroup: cg})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/busybox", "sh", script)
	done, err := inCgroup(cg, cmd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	done()
	p, serr := rec.Stop()
	if err != nil || serr != nil {
		t.Fatalf("recording run: %v %v\n%s", err, serr, out)
	}

	// 2. Export.
	ll := Landlock(p)
	sc, warn, err := SeccompJSON(p, SeccompOptions{BlockMPTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caps %v, landlock %s, %d syscalls, warnings %v", p.Used(), ll.String(), len(p.Syscalls), warn)
	if strings.Join(p.Used(), ",") != "CAP_CHOWN" {
		t.Errorf("used capabilities = %v, want only CAP_CHOWN", p.Used())
	}

	// 3. Re-run confined, plus probes of what the profile does not allow.
	nobody := exec.Command("/bin/busybox", "sleep", "30")
	nobody.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := nobody.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { nobody.Process.Kill(); nobody.Wait() }()
	os.Remove(filepath.Join(dir, "owned")) // same starting state as the recording
	probes := workload + fmt.Sprintf(`set +e
echo "bind-other: $(busybox nc -l -p %[1]d </dev/null 2>&1)"
echo "connect-other: $(echo hi | busybox nc 127.0.0.1 %[2]d 2>&1)"
echo "unrecorded-syscall: $(busybox ionice -c 3 -p $$ 2>&1)"
echo "dropped-cap: $(kill -0 %[3]d 2>&1)"
`, otherBind, otherConn, nobody.Process.Pid)
	os.WriteFile(script, []byte(probes), 0o644)
	c := confine{Caps: p.Used(), Seccomp: sc, Landlock: ll.String(), Argv: []string{"/bin/busybox", "sh", script}}
	js, _ := json.Marshal(c)
	self, _ := os.Executable()
	run := exec.Command(self, "-test.run=^$")
	run.Env = append(os.Environ(), "BRIG_E2E_CONFINE="+string(js))
	out, err = run.CombinedOutput()
	t.Logf("confined run:\n%s", out)
	if err != nil {
		t.Fatalf("confined run failed: %v", err)
	}
	got := string(out)
	for _, want := range []string{
		"workload-ok",
		"bind-other: nc: bind: Permission denied",                          // Landlock EACCES
		"connect-other: nc: can't connect to remote host",                  // and EACCES below
		"unrecorded-syscall: ionice: ioprio_set: Function not implemented", // seccomp ENOSYS
		"dropped-cap: sh: can't kill pid",                                  // CAP_KILL dropped: EPERM
	} {
		if !strings.Contains(got, want) {
			t.Errorf("confined output lacks %q", want)
		}
	}
	if !strings.Contains(got, "Permission denied") || !strings.Contains(got, "Operation not permitted") {
		t.Errorf("expected both EACCES (Landlock) and EPERM (capability) in the output")
	}
}

// profileFromJSON reads the exported Docker-format file the way brig run
// --security-opt seccomp=FILE will.
func profileFromJSON(b []byte) (*specs.LinuxSeccomp, error) {
	var s mseccomp.Seccomp
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	out := s.LinuxSeccomp
	for _, r := range s.Syscalls {
		out.Syscalls = append(out.Syscalls, r.LinuxSyscall)
	}
	return &out, nil
}
