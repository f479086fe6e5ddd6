package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/brigrt/brig/internal/specjson"
	"golang.org/x/sys/unix"
)

// The parent and the container's init talk over a SOCK_SEQPACKET socket
// pair: one message per packet, with an optional fd attached (the pty
// master for a terminal, a seccomp listener). Message boundaries come for
// free and EOF means the other side died, which is how an interrupted
// create is noticed. A packet is the type, a NUL, then the payload: the
// error text for msgError, the config for msgConfig. (No JSON envelope:
// encoding/json would scan the config twice more and build its codec in
// both processes.)
type syncMsg struct {
	Type  string
	Error string
	Data  []byte
}

const (
	msgConfig    = "config"     // parent -> init: the initConfig
	msgHooks     = "hooks"      // init -> parent: mounts done, run prestart/createRuntime
	msgHooksOK   = "hooks-ok"   // parent -> init
	msgConsole   = "console"    // init -> parent: pty master attached
	msgSeccomp   = "seccomp"    // init -> parent: the seccomp listener attached, for the agent
	msgSeccompOK = "seccomp-ok" // parent -> init: the agent has it
	msgReady     = "ready"      // init -> parent: waiting for start (create) or about to exec (exec)
	msgError     = "error"      // init -> parent: setup failed
	maxSyncSize  = 4 << 20
)

type syncConn struct{ f *os.File }

func newSyncPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

func (c syncConn) send(m syncMsg, fd int) error {
	payload := m.Data
	if m.Type == msgError {
		payload = []byte(m.Error)
	}
	data := make([]byte, 0, len(m.Type)+1+len(payload))
	data = append(append(append(data, m.Type...), 0), payload...)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	return unix.Sendmsg(int(c.f.Fd()), data, oob, nil, 0)
}

// sendConfig sends the init its config, encoded by specjson: the init
// decodes it on the path of every container start.
func (c syncConn) sendConfig(cfg *initConfig) error {
	data, err := specjson.EncodeInit(cfg)
	if err != nil {
		return err
	}
	return c.send(syncMsg{Type: msgConfig, Data: data}, -1)
}

// recv reads one message; the returned fd is -1 when none was attached.
func (c syncConn) recv() (syncMsg, int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		// Peek at the packet's size first: most messages are tiny, the
		// config can be large, and one buffer of maxSyncSize per message
		// would cost memory for nothing.
		//
		// This is where either side waits for the other, for a
		// millisecond or so at a time, and it waits without telling Go's
		// scheduler (a raw system call): otherwise Go's monitor thread
		// takes the one P away after 20 µs, hands it back when the call
		// returns, and keeps waking every 20 µs to watch for the next
		// call. Nothing else in either process has to run meanwhile.
		r, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, c.f.Fd(), 0, 0, unix.MSG_PEEK|unix.MSG_TRUNC, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return syncMsg{}, -1, errno
		}
		size := int(r)
		if size > maxSyncSize {
			return syncMsg{}, -1, fmt.Errorf("sync message of %d bytes is too large", size)
		}
		buf := make([]byte, size+1)
		n, oobn, _, _, err := unix.Recvmsg(int(c.f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return syncMsg{}, -1, err
		}
		if n == 0 && oobn == 0 {
			return syncMsg{}, -1, io.EOF
		}
		fd := -1
		if oobn > 0 {
			scms, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil && len(scms) > 0 {
				if fds, err := unix.ParseUnixRights(&scms[0]); err == nil && len(fds) > 0 {
					fd = fds[0]
				}
			}
		}
		typ, payload, ok := bytes.Cut(buf[:n], []byte{0})
		if !ok {
			return syncMsg{}, fd, fmt.Errorf("bad sync message %q", buf[:n])
		}
		m := syncMsg{Type: string(typ), Data: payload}
		if m.Type == msgError {
			m.Error, m.Data = string(payload), nil
		}
		return m, fd, nil
	}
}

// expect waits for a message of type want; an error message from the
// other side becomes the returned error.
func (c syncConn) expect(want string) (syncMsg, int, error) {
	m, fd, err := c.recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return m, fd, errors.New("container init exited during setup")
		}
		return m, fd, err
	}
	if m.Type == msgError {
		return m, fd, errors.New(m.Error)
	}
	if m.Type != want {
		return m, fd, fmt.Errorf("sync: got %q, want %q", m.Type, want)
	}
	return m, fd, nil
}
