package runtime

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSyncFraming: messages keep their type, error text and payload (even
// one with NULs), and an fd rides along.
func TestSyncFraming(t *testing.T) {
	a, b, err := newSyncPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	pa, pb := syncConn{a}, syncConn{b}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	sent := []struct {
		m  syncMsg
		fd int
	}{
		{syncMsg{Type: msgReady}, -1},
		{syncMsg{Type: msgError, Error: "mount /proc: permission denied"}, -1},
		{syncMsg{Type: msgConfig, Data: []byte("{\"id\":\"x\"}\x00tail")}, -1},
		{syncMsg{Type: msgSeccomp}, int(w.Fd())},
	}
	for _, s := range sent {
		if err := pa.send(s.m, s.fd); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sent {
		m, fd, err := pb.recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != s.m.Type || m.Error != s.m.Error || !bytes.Equal(m.Data, s.m.Data) {
			t.Fatalf("sent %+v, got %+v", s.m, m)
		}
		if (s.fd >= 0) != (fd >= 0) {
			t.Fatalf("%s: fd %d", m.Type, fd)
		}
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	a.Close()
	if _, _, err := pb.recv(); err == nil {
		t.Fatal("no EOF once the other side closed")
	}
}
