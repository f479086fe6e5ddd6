//go:build linux

package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// extractVmlinux finds the compressed kernel inside a bzImage, as the
// kernel's scripts/extract-vmlinux does, and keeps the first candidate
// that decompresses to an ELF file.
func extractVmlinux(in, out string) error {
	img, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	formats := []struct {
		magic []byte
		cmd   []string
	}{
		{[]byte("\xfd7zXZ\x00"), []string{"xz", "-dc", "--single-stream"}},
		{[]byte("\x28\xb5\x2f\xfd"), []string{"zstd", "-dcq"}},
		{[]byte("\x1f\x8b\x08"), []string{"gzip", "-dc"}},
	}
	for _, f := range formats {
		for off := 0; ; {
			i := bytes.Index(img[off:], f.magic)
			if i < 0 {
				break
			}
			off += i
			var buf bytes.Buffer
			cmd := exec.Command(f.cmd[0], f.cmd[1:]...)
			cmd.Stdin = bytes.NewReader(img[off:])
			cmd.Stdout = &buf
			_ = cmd.Run() // trailing data makes some decoders fail after a full stream
			if _, err := elf.NewFile(bytes.NewReader(buf.Bytes())); err == nil {
				return os.WriteFile(out, buf.Bytes(), 0o644)
			}
			off++
		}
	}
	return fmt.Errorf("%s: no xz, zstd or gzip stream decompresses to an ELF kernel", in)
}

// dumpLabels prints the security.selinux label of every file under dir,
// relative to it, one "path<TAB>label" a line.
func dumpLabels(dir string, w io.Writer) error {
	bw := bufio.NewWriter(w)
	buf := make([]byte, 256)
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n, err := unix.Lgetxattr(p, "security.selinux", buf)
		if errors.Is(err, unix.ENODATA) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		label := strings.TrimRight(string(buf[:n]), "\x00")
		_, err = fmt.Fprintf(bw, "%s\t%s\n", rel, label)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
