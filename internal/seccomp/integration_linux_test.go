//go:build integration

package seccomp

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The child half: TestMain runs it when the parent re-executes the test
// binary, so the filter never touches the test runner itself.
const childEnv = "BRIG_SECCOMP_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type childResult struct {
	Errnos map[string]int // call → errno (0: success)
	Status string         // Seccomp line of /proc/thread-self/status
	Tsync  string         // Seccomp line of /proc/self/status (with TSYNC)
}

func child(mode string) error {
	runtime.LockOSThread()
	var cfg *specs.LinuxSeccomp
	switch mode {
	case "docker":
		var p specs.LinuxSeccomp
		if err := json.Unmarshal([]byte(os.Getenv("BRIG_SECCOMP_PROFILE")), &p); err != nil {
			return err
		}
		cfg = &p
	case "errno":
		cfg = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: uintp(77),
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: 1 << 32, Op: specs.OpGreaterEqual}}}}}
	}
	prog, err := Compile(cfg)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if _, err := Load(prog); err != nil {
		return err
	}
	res := childResult{Errnos: map[string]int{}}
	call := func(name string, nr uintptr, args ...uintptr) {
		var a [6]uintptr
		copy(a[:], args)
		_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		res.Errnos[name] = int(e)
	}
	switch mode {
	case "docker":
		call("getpid", unix.SYS_GETPID)
		call("keyctl", unix.SYS_KEYCTL, 0)
		call("unshare_user", unix.SYS_UNSHARE, unix.CLONE_NEWUSER)
		call("clone3", unix.SYS_CLONE3, 0, 0)
		call("nr_1000", 1000)
		call("kexec_load", unix.SYS_KEXEC_LOAD)
	case "errno":
		call("getpriority_lo", unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0)
		call("getpriority_hi", unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 1<<32)
		s, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return err
		}
		res.Tsync = seccompLine(string(s))
	}
	s, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	res.Status = seccompLine(string(s))
	return json.NewEncoder(os.Stdout).Encode(res)
}

func seccompLine(status string) string {
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "Seccomp:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "Seccomp:"))
		}
	}
	return ""
}

func runChild(t *testing.T, mode string, env ...string) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v", mode, err)
	}
	var r childResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child %s output %q: %v", mode, out, err)
	}
	return r
}

func TestKernelDockerDefault(t *testing.T) {
	prof, err := json.Marshal(dockerDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	r := runChild(t, "docker", "BRIG_SECCOMP_PROFILE="+string(prof))
	want := map[string]unix.Errno{
		"getpid":       0,
		"keyctl":       unix.EPERM,
		"unshare_user": unix.EPERM,
		"clone3":       unix.ENOSYS,
		"nr_1000":      unix.ENOSYS,
		"kexec_load":   unix.EPERM,
	}
	for name, e := range want {
		if got := unix.Errno(r.Errnos[name]); got != e {
			t.Errorf("%s: errno %v, want %v", name, got, e)
		}
	}
	if r.Status != "2" {
		t.Errorf("Seccomp: %q, want 2", r.Status)
	}
}

func TestKernelErrnoRetAndTsync(t *testing.T) {
	r := runChild(t, "errno")
	if e := r.Errnos["getpriority_lo"]; e != 0 {
		t.Errorf("getpriority(who=0): errno %d, want success", e)
	}
	if e := r.Errnos["getpriority_hi"]; e != 77 {
		t.Errorf("getpriority(who=1<<32): errno %d, want 77", e)
	}
	if r.Status != "2" || r.Tsync != "2" {
		t.Errorf("Seccomp: thread %q, process %q; want 2 and 2 (TSYNC)", r.Status, r.Tsync)
	}
}
