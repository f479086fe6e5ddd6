package rawio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 15, 16, 17, 4096, 100000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("x"), n)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{0, 16, 512} {
			got, err := ReadFile(p, size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes with a %d-byte start: %d bytes, %v", n, size, len(got), err)
			}
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 16); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

// FD writes everything, however many write calls the pipe takes, and a
// pipe nobody reads is an EPIPE error.
func TestFDWrite(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	if _, err := FD(w.Fd()).Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed pipe: %v, want EPIPE", err)
	}
	data := bytes.Repeat([]byte("y"), 200000)
	r2, w2, _ := os.Pipe()
	defer r2.Close()
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r2); done <- b }()
	if n, err := FD(w2.Fd()).Write(data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	w2.Close()
	if got := <-done; !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(data))
	}
}
