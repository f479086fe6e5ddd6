package testimage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRootfs(t *testing.T) {
	dir := t.TempDir()
	if err := Rootfs(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "bin/busybox"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Size() < 1<<20 {
		t.Fatalf("bin/busybox: %v %v", fi, err)
	}
	for _, applet := range []string{"bin/sh", "bin/ls", "usr/bin/env", "sbin/ip"} {
		if l, err := os.Readlink(filepath.Join(dir, applet)); err != nil || l != "/bin/busybox" {
			t.Errorf("%s -> %q, %v", applet, l, err)
		}
	}
	passwd, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil || !strings.Contains(string(passwd), "user:x:1000:1000:") || !strings.HasPrefix(string(passwd), "root:x:0:0:") {
		t.Errorf("etc/passwd = %q, %v", passwd, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp: %v %v", fi, err)
	}
	for _, d := range []string{"dev", "proc", "sys", "etc", "root", "home/user"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v %v", d, fi, err)
		}
	}
	// The unpacked busybox runs (its applets resolve through /proc/self/exe,
	// so run the binary by path with an applet name).
	out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "echo", "ok").Output()
	if err != nil || string(out) != "ok\n" {
		t.Errorf("busybox echo: %q %v", out, err)
	}
}

func TestTarballIsReproducible(t *testing.T) {
	var a, b bytes.Buffer
	if err := Tarball(&a); err != nil {
		t.Fatal(err)
	}
	once, tarData = sync.Once{}, nil
	if err := Tarball(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two builds of the tarball differ")
	}
}

func TestImage(t *testing.T) {
	img, err := Image()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "/bin/sh" || cf.OS != "linux" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config = %+v", cf)
	}
	l, err := Layer()
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := l.DiffID()
	if cf.RootFS.DiffIDs[0] != diff {
		t.Errorf("image diff-id %v, layer %v", cf.RootFS.DiffIDs[0], diff)
	}
}
