//go:build integration && linux

package landlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/internal/seccomp"
	"github.com/brigrt/brig/internal/testnet"
)

// The test binary re-executes itself as the confined child: with
// BRIG_LL_CHILD set it applies the rules (and, if asked, MPTCPRule through
// a small seccomp filter), tries each operation and prints one line per
// result ("name=ok" or "name=ERRNO").
type childSpec struct {
	Rules       string // --security-opt form
	Seccomp     bool
	BindOK      int
	BindOther   int
	ConnectPort int
	RWDir       string
	RODir       string
}

func TestMain(m *testing.M) {
	if v := os.Getenv("BRIG_LL_CHILD"); v != "" {
		os.Exit(child(v))
	}
	os.Exit(m.Run())
}

func child(v string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		fmt.Println("spec:", err)
		return 2
	}
	runtime.LockOSThread()
	r, err := Parse(s.Rules)
	if err != nil {
		fmt.Println("parse:", err)
		return 2
	}
	a, err := Apply(r)
	if err != nil {
		fmt.Println("apply:", err)
		return 2
	}
	fmt.Printf("applied=%s\n", a.Rules.String())
	if s.Seccomp {
		if err := loadRule(MPTCPRule()); err != nil {
			fmt.Println("seccomp:", err)
			return 2
		}
	}
	res := func(name string, err error) {
		if err == nil {
			fmt.Printf("%s=ok\n", name)
		} else {
			fmt.Printf("%s=%s\n", name, unix.ErrnoName(errors.Unwrap(err).(unix.Errno)))
		}
	}
	res("bind_allowed", bindTCP(s.BindOK, unix.IPPROTO_TCP))
	res("bind_other", bindTCP(s.BindOther, unix.IPPROTO_TCP))
	res("connect", connectTCP(s.ConnectPort))
	res("mptcp_bind_other", bindTCP(s.BindOther, unix.IPPROTO_MPTCP))
	res("write_rw", writeFile(filepath.Join(s.RWDir, "f")))
	res("write_ro", writeFile(filepath.Join(s.RODir, "f")))
	return 0
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

func bindTCP(port, proto int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, proto)
	if err != nil {
		return wrap("socket", err)
	}
	defer unix.Close(fd)
	return wrap("bind", unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
}

func connectTCP(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return wrap("socket", err)
	}
	defer unix.Close(fd)
	return wrap("connect", unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
}

func writeFile(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return wrap("open", err)
	}
	return wrap("close", unix.Close(fd))
}

// loadRule loads r through brig's seccomp compiler, in an otherwise
// allow-all filter, on this thread.
func loadRule(r specs.LinuxSyscall) error {
	prog, err := seccomp.Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{r},
	})
	if err != nil {
		return err
	}
	// no_new_privs is already set by Apply (or the test runs as root).
	_, err = seccomp.Load(prog)
	return err
}

func runChild(t *testing.T, s childSpec) map[string]string {
	t.Helper()
	b, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BRIG_LL_CHILD="+string(b))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child (%s, seccomp %v):\n%s", s.Rules, s.Seccomp, out)
	res := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			res[k] = v
		}
	}
	return res
}

func TestApplyNetAndFS(t *testing.T) {
	abi, err := ABI()
	if err != nil {
		t.Fatalf("this host must have Landlock: %v", err)
	}
	if abi < 4 {
		t.Fatalf("this host has Landlock ABI %d; the test needs 4+ (the brief's kernel has 7)", abi)
	}
	connect := testnet.Listen(t)
	rw, ro := t.TempDir(), t.TempDir()
	s := childSpec{
		BindOK: testnet.FreePort(t), BindOther: testnet.FreePort(t), ConnectPort: connect,
		RWDir: rw, RODir: ro,
	}
	s.Rules = fmt.Sprintf("bind:%d,connect:none,ro:/,rw:%s", s.BindOK, rw)

	// Unconfined baseline: everything works, so the denials below are
	// Landlock's doing.
	base := s
	base.Rules = "bind:any,connect:any"
	got := runChild(t, base)
	for _, k := range []string{"bind_allowed", "bind_other", "connect", "mptcp_bind_other", "write_rw", "write_ro"} {
		if got[k] != "ok" {
			t.Errorf("unconfined %s = %q, want ok", k, got[k])
		}
	}

	got = runChild(t, s)
	want := map[string]string{
		"bind_allowed": "ok", "bind_other": "EACCES", "connect": "EACCES",
		"write_rw": "ok", "write_ro": "EACCES",
		// The bypass this kernel has: MPTCP escapes the TCP rules.
		"mptcp_bind_other": "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("confined %s = %q, want %q", k, got[k], v)
		}
	}
	if got["applied"] != s.Rules {
		t.Errorf("applied = %q, want %q", got["applied"], s.Rules)
	}

	// With the MPTCP seccomp rule the bypass is closed.
	s.Seccomp = true
	got = runChild(t, s)
	want["mptcp_bind_other"] = "EACCES"
	for k, v := range want {
		if got[k] != v {
			t.Errorf("confined+seccomp %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestApplyMissingPathIsNotClaimed(t *testing.T) {
	s := childSpec{Rules: "ro:/,rw:/nonexistent-brig-path", RWDir: t.TempDir(), RODir: t.TempDir(), BindOK: testnet.FreePort(t), BindOther: testnet.FreePort(t), ConnectPort: 1}
	got := runChild(t, s)
	if got["applied"] != "ro:/" {
		t.Errorf("applied = %q, want only ro:/ (the missing rw path must not be claimed)", got["applied"])
	}
	if got["write_rw"] != "EACCES" {
		t.Errorf("write under an unlisted path = %q, want EACCES", got["write_rw"])
	}
}
