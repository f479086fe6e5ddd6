// Package testnet holds the network helpers the integration tests share.
package testnet

import (
	"net"
	"testing"
)

// Listen opens a TCP listener on 127.0.0.1 that accepts and closes every
// connection until the test ends, and returns its port: a destination a
// container may connect to.
func Listen(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago: one for a container to bind.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
