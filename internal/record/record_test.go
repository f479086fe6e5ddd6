//go:build linux && amd64

package record

import (
	"testing"

	"golang.org/x/sys/unix"
)

func name(s string) (out [128]int8) {
	for i, c := range []byte(s) {
		out[i] = int8(c)
	}
	return out
}

func TestFilePath(t *testing.T) {
	var e recordFileEvent
	e.Depth = 3
	e.Names[0], e.Names[1], e.Names[2] = name("f.log"), name("log"), name("var")
	if p, ok := filePath(&e); !ok || p != "/var/log/f.log" {
		t.Errorf("path = %q %v", p, ok)
	}
	e.Depth = 0
	if p, ok := filePath(&e); !ok || p != "/" {
		t.Errorf("root = %q %v", p, ok)
	}
	e.Truncated = 1
	if _, ok := filePath(&e); ok {
		t.Error("a truncated walk gave a path")
	}
	e.Truncated, e.Depth = 0, 1
	for i := range e.Names[0] {
		e.Names[0][i] = 'a' // no NUL: the name was cut
	}
	if _, ok := filePath(&e); ok {
		t.Error("an over-long name gave a path")
	}
	e.Depth = 200
	if _, ok := filePath(&e); ok {
		t.Error("a bad depth gave a path")
	}
}

func TestEndpoint(t *testing.T) {
	e := recordNetEvent{Kind: evConnect, Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, Port: 5432}
	copy(e.Addr[:], []byte{10, 0, 0, 1})
	if ep, ok := endpoint(&e); !ok || ep.String() != "tcp/10.0.0.1:5432" {
		t.Errorf("v4 = %v %v", ep, ok)
	}
	e = recordNetEvent{Kind: evBind, Family: unix.AF_INET6, Proto: unix.IPPROTO_MPTCP, Port: 80}
	if ep, ok := endpoint(&e); !ok || ep.String() != "mptcp/*:80" {
		t.Errorf("v6 any = %v %v", ep, ok)
	}
	e.Addr = [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}
	if ep, _ := endpoint(&e); ep.Addr != "127.0.0.1" {
		t.Errorf("v4-mapped = %v", ep)
	}
	e = recordNetEvent{Kind: evConnect, Family: unix.AF_INET, Proto: unix.IPPROTO_UDP}
	if _, ok := endpoint(&e); ok {
		t.Error("connect to port 0 recorded")
	}
}

func TestSysname(t *testing.T) {
	if sysname(257) != "openat" || sysname(0) != "read" || sysname(9999) != "syscall_9999" {
		t.Errorf("sysname: %s %s %s", sysname(257), sysname(0), sysname(9999))
	}
}

func TestStartNeedsCgroup(t *testing.T) {
	if _, err := Start(Options{}); err == nil {
		t.Error("Start without a cgroup succeeded")
	}
}
