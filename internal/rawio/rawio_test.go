package rawio

import (
	"bytes"
	"errors"
	"fmt"
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

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, data := range []string{"first", "second, longer", ""} {
		if err := WriteFileAtomic(p, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode: %v, %v", fi, err)
	}
	// A symlink planted where the next temporary file would go is
	// neither followed nor reused.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, fmt.Sprintf(".state.json.tmp%d.%d", os.Getpid(), tmpSeq.Load()+1))
	if err := os.Symlink(victim, next); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("third"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("victim changed: %q", b)
	}
	if b, _ := os.ReadFile(p); string(b) != "third" {
		t.Fatalf("read back %q", b)
	}
	os.Remove(next)
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}
