//go:build integration

package runtime

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// struct seccomp_notif and seccomp_notif_resp (linux/seccomp.h).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// agent is a seccomp agent as engines run one: it takes the listener the
// runtime sends to its socket, answers getppid with 4242 and lets every
// other notified call go on. It reports what the runtime sent.
func agent(t *testing.T, sock string) <-chan specs.ContainerProcessState {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan specs.ContainerProcessState, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 64<<10), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		var st specs.ContainerProcessState
		_ = json.Unmarshal(buf[:n], &st)
		got <- st
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return
		}
		defer unix.Close(fds[0])
		for {
			var req seccompNotif
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fds[0]), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
				if e == unix.EINTR {
					continue
				}
				return // the container's processes are gone
			}
			resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
			if req.Nr == unix.SYS_GETPPID {
				resp = seccompNotifResp{ID: req.ID, Val: 4242}
			}
			unix.Syscall(unix.SYS_IOCTL, uintptr(fds[0]), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		}
	}()
	return got
}

func notifySeccomp(sock string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow, ListenerPath: sock, ListenerMetadata: "from-the-spec",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid"}, Action: specs.ActNotify},
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}, // continued by the agent
		},
	}
}

// TestSeccompNotify: a filter with SCMP_ACT_NOTIFY rules sends its
// listener to the agent at listenerPath, with the container's state, and
// the agent's answers are what the container's process sees: for a
// container's process and for an exec'd one.
func TestSeccompNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	got := agent(t, sock)
	b := newBundle(t, []string{"/bin/sh", "-c", "mkdir /tmp/x && echo ppid=$PPID"}, func(s *specs.Spec) {
		s.Linux.Seccomp = notifySeccomp(sock)
	})
	rt := newRuntime(t)
	out, errOut, code, err := runBundle(t, rt, "n1", b)
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v\n%s", code, err, errOut)
	}
	if !strings.Contains(out, "ppid=4242") {
		t.Fatalf("the agent's getppid answer did not reach the container: %q", out)
	}
	st := <-got
	if st.Version == "" || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Pid <= 0 ||
		st.Metadata != "from-the-spec" || st.State.ID != "n1" || st.State.Status != specs.StateCreating {
		t.Fatalf("agent got %+v", st)
	}

	// exec: a process of its own, a listener of its own.
	sock2 := filepath.Join(dir, "agent2.sock")
	got2 := agent(t, sock2)
	b2 := newBundle(t, []string{"sleep", "30"}, func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	})
	_, err = rt.Create("n2", CreateOpts{Bundle: b2})
	must(t, err)
	defer rt.Delete("n2", true)
	must(t, rt.Start("n2"))
	p, err := rt.BaseProcess("n2")
	must(t, err)
	p.Args = []string{"/bin/sh", "-c", "echo ppid=$PPID"}
	outf, _ := os.CreateTemp(t.TempDir(), "out")
	errf, _ := os.CreateTemp(t.TempDir(), "err")
	st2, err := rt.Store.Load("n2")
	must(t, err)
	st2.Spec.Linux.Seccomp = notifySeccomp(sock2)
	must(t, rt.Store.Save(st2))
	code, err = rt.Exec("n2", ExecOpts{Process: p, Stdout: outf, Stderr: errf})
	if err != nil || code != 0 {
		e, _ := os.ReadFile(errf.Name())
		t.Fatalf("exec: %d %v\n%s", code, err, e)
	}
	if o, _ := os.ReadFile(outf.Name()); !strings.Contains(string(o), "ppid=4242") {
		t.Fatalf("exec: the agent's answer did not reach the process: %q", o)
	}
	// As runc: pid is the exec'd process's, the state's pid the container's.
	if s := <-got2; s.State.Status != specs.StateRunning || s.State.ID != "n2" || s.Pid == s.State.Pid || s.State.Pid != st2.Pid {
		t.Fatalf("exec: agent got %+v", s)
	}
}

// TestSeccompNotifyNoAgent: with nothing listening at listenerPath the
// create fails, naming the path, and leaves nothing behind.
func TestSeccompNotifyNoAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nobody.sock")
	b := newBundle(t, []string{"true"}, func(s *specs.Spec) { s.Linux.Seccomp = notifySeccomp(sock) })
	rt := newRuntime(t)
	_, err := rt.Create("n3", CreateOpts{Bundle: b})
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Fatalf("create with no agent: %v", err)
	}
	if left := leftovers(t, rt, "n3", filepath.Join(b, "rootfs")); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}
