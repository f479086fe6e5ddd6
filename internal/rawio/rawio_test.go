package rawio

import (
	"bytes"
	"os"
	"path/filepath"
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
