//go:build integration && linux

package store

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// mountFSType reads /proc/self/mountinfo and returns the filesystem type
// mounted at p, or "" when nothing is.
func mountFSType(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fstype := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, x := range fields {
			if x == "-" && len(fields) > i+1 && fields[4] == p {
				fstype = fields[i+1] // the last mount on p wins
			}
		}
	}
	return fstype
}

func rootOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("integration tests run as root (overlay mounts, device whiteouts)")
	}
}

func TestOverlayMount(t *testing.T) {
	rootOnly(t)
	// An image whose second layer deletes a file and makes /etc opaque
	// except for a new file, exercising overlay whiteouts from the store.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/.wh.ls", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "etc/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	tw.Write([]byte("hi\n"))
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img2, err := mutate.AppendLayers(busybox(t), l)
	if err != nil {
		t.Fatal(err)
	}
	host := serve(t)
	push(t, host+"/ov:1", img2)

	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Pull(context.Background(), host+"/ov:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.Mount(img, "ctr1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Remove("ctr1") })
	if got := mountFSType(t, rootfs); got != "overlay" {
		t.Fatalf("mountinfo shows %q at %s, want overlay", got, rootfs)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "bin/ls")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("whited-out bin/ls visible: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/passwd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opaque /etc shows the lower passwd: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/motd")); string(b) != "hi\n" {
		t.Errorf("etc/motd = %q", b)
	}
	// The rootfs runs: busybox in a chroot.
	out, err := exec.Command("chroot", rootfs, "/bin/sh", "-c", "echo ok").CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Errorf("chroot sh: %q, %v", out, err)
	}
	// Writes land in the container's upper dir, not in the shared layer.
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), []byte("clobbered"), 0o755); err != nil {
		t.Fatal(err)
	}
	layerBin := filepath.Join(s.layerDir(img.Layers[0]), "root/bin/busybox")
	if fi, err := os.Stat(layerBin); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("shared layer modified through the container: %v %v", fi, err)
	}
	if err := s.Unmount("ctr1"); err != nil {
		t.Fatal(err)
	}
	if got := mountFSType(t, rootfs); got != "" {
		t.Fatalf("after Unmount mountinfo still shows %q at %s", got, rootfs)
	}
	// Mount again: same rootfs with the container's change.
	if again, err := s.Mount(img, "ctr1"); err != nil || again != rootfs {
		t.Fatalf("remount = %q, %v", again, err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "bin/busybox")); string(b) != "clobbered" {
		t.Error("container change lost across Unmount/Mount")
	}
	if err := s.Remove("ctr1"); err != nil {
		t.Fatal(err)
	}
	if got := mountFSType(t, rootfs); got != "" {
		t.Errorf("after Remove mountinfo shows %q at %s", got, rootfs)
	}
	if _, err := os.Stat(s.containerDir("ctr1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir left: %v", err)
	}
	if _, err := s.RemoveImage(img.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	if n := countDir(t, s.path("layers")); n != 0 {
		t.Errorf("%d layers left after rmi", n)
	}
}

// A store whose path overlayfs cannot express (a comma would split the
// mount options) falls back to a copied rootfs.
func TestOverlayFallbackCopy(t *testing.T) {
	rootOnly(t)
	s, err := Open(filepath.Join(t.TempDir(), "odd,path"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3})
	tw.WriteHeader(&tar.Header{Name: "etc/shadow", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 0, Gid: 42, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	img, err := s.Import(&buf, "dev:1", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.Mount(img, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got := mountFSType(t, rootfs); got != "" {
		t.Errorf("fallback rootfs is a %s mount", got)
	}
	fi, err := os.Lstat(filepath.Join(rootfs, "dev/null"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("device node as root: %v %v", fi, err)
	}
	sh, err := os.Stat(filepath.Join(rootfs, "etc/shadow"))
	if err != nil || sh.Mode().Perm() != 0o640 || sh.Sys().(*syscall.Stat_t).Gid != 42 {
		t.Errorf("etc/shadow mode or group not preserved: %v %v", sh, err)
	}
	if err := s.Remove("c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.containerDir("c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir left: %v", err)
	}
}

// More layers than mount(2)'s one page of options can name are mounted
// through the mount API's lowerdir+ (Linux 6.8+).
func TestOverlayManyLayers(t *testing.T) {
	rootOnly(t)
	img := busybox(t)
	for i := range 60 {
		img = withLayer(t, img, map[string]string{filepath.Join("layers", strings.Repeat("d", i%7+1), "f"+string(rune('a'+i%26))+strings.Repeat("x", i)): "x"})
	}
	archive := filepath.Join(t.TempDir(), "many.tar")
	tag, _ := name.NewTag("many:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Load(archive)
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.Mount(imgs[0], "many", WithMountLabel("system_u:object_r:container_file_t:s0:c1,c2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mountFSType(t, rootfs); got != "overlay" {
		t.Errorf("mountinfo shows %q at the rootfs, want overlay", got)
	}
	for _, p := range []string{"bin/busybox", "layers/d/fa", "layers/ddd/fg" + strings.Repeat("x", 58)} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("rootfs lacks %s: %v", p, err)
		}
	}
	if err := s.Remove("many"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.containerDir("many")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir left: %v", err)
	}
}

// BenchmarkMountRemove is the rootfs share of `brig run --rm IMG true`.
func BenchmarkMountRemove(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.Tarball(&buf); err != nil {
		b.Fatal(err)
	}
	img, err := s.Import(&buf, "bench:1", ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Mount(img, "bench"); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove("bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// overlayfs refuses a lower directory twice; an image repeating a layer
// still mounts.
func TestOverlayRepeatedLayer(t *testing.T) {
	rootOnly(t)
	l, err := testimage.Layer()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(withLayer(t, busybox(t), map[string]string{"extra": "e"}), l)
	if err != nil {
		t.Fatal(err)
	}
	host := serve(t)
	push(t, host+"/rep:1", img)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Pull(context.Background(), host+"/rep:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Layers) != 3 || stored.Layers[0] != stored.Layers[2] {
		t.Fatalf("layers = %v", stored.Layers)
	}
	rootfs, err := s.Mount(stored, "rep")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove("rep")
	if got := mountFSType(t, rootfs); got != "overlay" {
		t.Errorf("mountinfo shows %q, want overlay", got)
	}
	for _, p := range []string{"extra", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
