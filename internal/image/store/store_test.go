//go:build linux

package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestMain doubles as a helper process for the multi-process pull test.
func TestMain(m *testing.M) {
	if root := os.Getenv("BRIG_TEST_PULL_ROOT"); root != "" {
		s, err := Open(root)
		if err == nil {
			_, err = s.Pull(context.Background(), os.Getenv("BRIG_TEST_PULL_REF"), nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serve starts an in-process registry on 127.0.0.1 and returns its host.
func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

func busybox(t testing.TB) v1.Image {
	t.Helper()
	img, err := testimage.Image()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// withLayer returns base plus one layer holding the given files.
func withLayer(t testing.TB, base v1.Image, files map[string]string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func open(t *testing.T) *Store {
	t.Helper()
	root := t.TempDir()
	t.Cleanup(func() { removeAll(root) })
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	s.noOverlay = true // real mounts are in the integration tests
	return s
}

func countDir(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestPullResolveAndDedupe(t *testing.T) {
	host := serve(t)
	bb := busybox(t)
	push(t, host+"/busybox:latest", bb)
	push(t, host+"/tools:1", withLayer(t, bb, map[string]string{"etc/tool.conf": "x=1\n"}))

	s := open(t)
	var out bytes.Buffer
	img, err := s.Pull(context.Background(), host+"/busybox", &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pull complete") || !strings.Contains(out.String(), "Digest: sha256:") {
		t.Errorf("progress output:\n%s", out.String())
	}
	if got := img.Config().Cmd; len(got) != 1 || got[0] != "/bin/sh" {
		t.Errorf("Cmd = %v", got)
	}
	if len(img.Tags) != 1 || img.Tags[0] != host+"/busybox:latest" {
		t.Errorf("tags = %v", img.Tags)
	}
	if img.Size < 1<<20 {
		t.Errorf("size = %d, want the busybox binary's size at least", img.Size)
	}
	for _, ref := range []string{host + "/busybox", host + "/busybox:latest", img.ID, img.ShortID(), img.ID[:12], img.Digests[0]} {
		r, err := s.Resolve(ref)
		if err != nil || r.ID != img.ID {
			t.Errorf("Resolve(%q) = %v, %v", ref, r, err)
		}
	}
	if _, err := s.Resolve("nosuch:latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(nosuch) error = %v, want ErrNotFound", err)
	}

	// Pull again and pull an image sharing the base layer: the busybox
	// layer is stored once.
	out.Reset()
	if _, err := s.Pull(context.Background(), host+"/busybox:latest", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "already exists") || strings.Contains(out.String(), "downloading") {
		t.Errorf("second pull downloaded again:\n%s", out.String())
	}
	tools, err := s.Pull(context.Background(), host+"/tools:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tools.Layers[0] != img.Layers[0] || len(tools.Layers) != 2 {
		t.Fatalf("tools layers %v do not share busybox's %v", tools.Layers, img.Layers)
	}
	if n := countDir(t, s.path("layers")); n != 2 {
		t.Errorf("%d layer directories, want 2 (shared base stored once)", n)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %d images, %v", len(list), err)
	}
}

func TestPullMissingAndBadRef(t *testing.T) {
	host := serve(t)
	s := open(t)
	if _, err := s.Pull(context.Background(), host+"/nothing:here", nil); err == nil {
		t.Error("pulling a missing image succeeded")
	}
	if _, err := s.Pull(context.Background(), "UPPER/Case::bad", nil); err == nil || !strings.Contains(err.Error(), "invalid image reference") {
		t.Errorf("bad reference error = %v", err)
	}
	if n := countDir(t, s.path("layers")); n != 0 {
		t.Errorf("failed pulls left %d layers", n)
	}
}

func TestTagAndRemove(t *testing.T) {
	host := serve(t)
	bb := busybox(t)
	push(t, host+"/busybox:latest", bb)
	push(t, host+"/tools:1", withLayer(t, bb, map[string]string{"tool": "t"}))
	s := open(t)
	img, err := s.Pull(context.Background(), host+"/busybox", nil)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := s.Pull(context.Background(), host+"/tools:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(host+"/busybox", "mybox:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("nosuch", "x:y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("tagging a missing image: %v", err)
	}
	if err := s.Tag(host+"/busybox", "bad name!"); err == nil {
		t.Error("invalid tag accepted")
	}
	r, err := s.Resolve("mybox:v1")
	if err != nil || r.ID != img.ID || len(r.Tags) != 2 {
		t.Fatalf("Resolve(mybox:v1) = %+v, %v", r, err)
	}
	// By ID with two names: refused without force.
	if _, err := s.RemoveImage(img.ShortID(), false, nil); err == nil || !strings.Contains(err.Error(), "several names") {
		t.Errorf("rmi by id with two tags: %v", err)
	}
	// By name: only untags.
	res, err := s.RemoveImage("mybox:v1", false, nil)
	if err != nil || res.Deleted != "" || len(res.Untagged) != 1 {
		t.Fatalf("rmi mybox:v1 = %+v, %v", res, err)
	}
	// In use (callback): refused.
	inUse := func(id string) bool { return id == img.ID }
	if _, err := s.RemoveImage(host+"/busybox", false, inUse); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("rmi of an image in use: %v", err)
	}
	// In use by a container rootfs: refused, and forced removal keeps the
	// container's layers.
	rootfs, err := s.Mount(img, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveImage(img.ID, false, nil); err == nil || !strings.Contains(err.Error(), "c1") {
		t.Errorf("rmi of an image with a container: %v", err)
	}
	if res, err := s.RemoveImage(img.ID, true, nil); err != nil || res.Deleted != img.ID {
		t.Fatalf("rmi -f = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "bin/busybox")); err != nil {
		t.Errorf("container rootfs damaged by rmi -f: %v", err)
	}
	if _, err := s.Resolve(img.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed image still resolves: %v", err)
	}
	if n := countDir(t, s.path("layers")); n != 2 {
		t.Errorf("%d layers, want 2 (shared base kept for tools and c1)", n)
	}
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.containerDir("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir left behind: %v", err)
	}
	if _, err := s.RemoveImage(tools.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"layers", "blobs/sha256", "tmp", "containers"} {
		if n := countDir(t, s.path(d)); n != 0 {
			t.Errorf("%s holds %d entries after removing everything", d, n)
		}
	}
}

func TestMountCopyFallback(t *testing.T) {
	bb := busybox(t)
	// A layer that deletes /etc/hostname and replaces /etc/passwd.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/.wh.hostname", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o600, Size: 5})
	tw.Write([]byte("new!\n"))
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img2, err := mutate.AppendLayers(bb, l)
	if err != nil {
		t.Fatal(err)
	}
	host := serve(t)
	push(t, host+"/wh:1", img2)
	s := open(t)
	img, err := s.Pull(context.Background(), host+"/wh:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := s.Mount(img, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/hostname")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("whiteout not applied: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/passwd")); string(b) != "new!\n" {
		t.Errorf("etc/passwd = %q", b)
	}
	if l, err := os.Readlink(filepath.Join(rootfs, "bin/sh")); err != nil || l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	// Writes go to the container's copy, not the stored layer.
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := s.Mount(img, "c2")
	if err != nil || again != rootfs {
		t.Fatalf("second Mount = %q, %v", again, err)
	}
	if b, _ := os.ReadFile(filepath.Join(again, "etc/passwd")); string(b) != "changed" {
		t.Error("container changes lost on second Mount")
	}
	other, err := s.Mount(img, "c3")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "etc/passwd")); string(b) != "new!\n" {
		t.Errorf("c3 sees c2's write: %q", b)
	}
	if _, err := s.Mount(img, "../escape"); err == nil {
		t.Error("bad container id accepted")
	}
	for _, id := range []string{"c2", "c3"} {
		if err := s.Unmount(id); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if n := countDir(t, s.path("containers")); n != 0 {
		t.Errorf("%d container dirs left", n)
	}
}

func TestImport(t *testing.T) {
	s := open(t)
	var buf bytes.Buffer
	if err := testimage.Tarball(&buf); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	img, err := s.Import(bytes.NewReader(buf.Bytes()), "localhost/busybox", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img2, err := s.Import(&gz, "other:1", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Layers[0] != img2.Layers[0] {
		t.Errorf("gzip import has diff-id %s, plain %s", img2.Layers[0], img.Layers[0])
	}
	if n := countDir(t, s.path("layers")); n != 1 {
		t.Errorf("%d layers after importing the same tarball twice", n)
	}
	if r, err := s.Resolve("localhost/busybox:latest"); err != nil || r.ID != img.ID {
		t.Errorf("Resolve = %v, %v", r, err)
	}
	if _, err := s.Import(strings.NewReader("not a tarball at all"), "x", ImportOptions{}); err == nil {
		t.Error("garbage imported")
	}
	if _, err := s.Import(bytes.NewReader(buf.Bytes()), "Bad Name", ImportOptions{}); err == nil {
		t.Error("invalid name accepted")
	}
	if n := countDir(t, s.path("tmp")); n != 0 {
		t.Errorf("failed imports left %d temporary entries", n)
	}
}

func TestLoadDockerArchive(t *testing.T) {
	dir := t.TempDir()
	bb := busybox(t)
	tools := withLayer(t, bb, map[string]string{"tool": "t"})
	t1, _ := name.NewTag("busybox:latest")
	t2, _ := name.NewTag("example.com/tools:2")
	archive := filepath.Join(dir, "save.tar")
	if err := tarball.MultiWriteToFile(archive, map[name.Tag]v1.Image{t1: bb, t2: tools}); err != nil {
		t.Fatal(err)
	}
	s := open(t)
	imgs, err := s.Load(archive)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("loaded %d images, want 2", len(imgs))
	}
	for _, ref := range []string{"busybox", "docker.io/library/busybox:latest", "example.com/tools:2"} {
		if _, err := s.Resolve(ref); err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
		}
	}
	if n := countDir(t, s.path("layers")); n != 2 {
		t.Errorf("%d layers, want 2", n)
	}
	// The same archive compressed, through a reader.
	data, _ := os.ReadFile(archive)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	s2 := open(t)
	if imgs, err := s2.LoadReader(&gz); err != nil || len(imgs) != 2 {
		t.Fatalf("LoadReader(gzip) = %d images, %v", len(imgs), err)
	}
}

func TestLoadOCIArchive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(busybox(t), layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": "localhost/bb:oci",
	})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "oci.tar")
	if out, err := exec.Command("tar", "-C", dir, "-cf", archive, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	for _, src := range []string{archive, dir} {
		s := open(t)
		imgs, err := s.Load(src)
		if err != nil {
			t.Fatalf("Load(%s): %v", src, err)
		}
		if len(imgs) != 1 || len(imgs[0].Tags) != 1 || imgs[0].Tags[0] != "localhost/bb:oci" {
			t.Fatalf("Load(%s) = %+v", src, imgs)
		}
		if imgs[0].Config().Cmd[0] != "/bin/sh" {
			t.Errorf("config lost: %+v", imgs[0].Config())
		}
	}
}

func TestLoadRefusesBadArchives(t *testing.T) {
	s := open(t)
	dir := t.TempDir()
	write := func(name string, ents map[string]string, symlinks map[string]string) string {
		p := filepath.Join(dir, name)
		f, _ := os.Create(p)
		tw := tar.NewWriter(f)
		for n, body := range ents {
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
			tw.Write([]byte(body))
		}
		for n, target := range symlinks {
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
		}
		tw.Close()
		f.Close()
		return p
	}
	cases := map[string]struct {
		path string
		want string
	}{
		"rootfs tarball": {write("rootfs.tar", map[string]string{"bin/sh": "x"}, nil), "brig import"},
		"symlinked blob": {write("oci.tar", map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": `{"schemaVersion":2,"manifests":[]}`},
			map[string]string{"blobs/sha256/aaaa": "/etc/shadow"}), "not a regular file"},
		"escaping entry": {write("evil.tar", map[string]string{"oci-layout": "{}", "index.json": "{}", "../../evil": "x"}, nil), "unsafe"},
		"bad manifest":   {write("docker.tar", map[string]string{"manifest.json": "[{"}, nil), "manifest.json"},
		"empty layout":   {write("empty.tar", map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": `{"schemaVersion":2,"manifests":[]}`}, nil), "no images"},
	}
	for n, c := range cases {
		t.Run(n, func(t *testing.T) {
			_, err := s.Load(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
		t.Error("escaping entry was written")
	}
	if n := countDir(t, s.path("tmp")); n != 0 {
		t.Errorf("%d temporary entries left", n)
	}
}

// A layer with a path-escaping entry is refused and leaves no image, layer
// or temporary file behind.
func TestPullMaliciousLayer(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "/etc", Mode: 0o777})
	tw.WriteHeader(&tar.Header{Name: "lib/cron.d", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
	if err != nil {
		t.Fatal(err)
	}
	host := serve(t)
	push(t, host+"/evil:1", img)
	s := open(t)
	_, err = s.Pull(context.Background(), host+"/evil:1", nil)
	if err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Fatalf("pull = %v, want an unsafe-path error", err)
	}
	for _, d := range []string{"layers", "tmp", "blobs/sha256"} {
		if n := countDir(t, s.path(d)); n != 0 {
			ents, _ := os.ReadDir(s.path(d))
			t.Errorf("%s holds %d entries after a refused pull: %v", d, n, ents)
		}
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("refused image listed: %v", list)
	}
}

// Pulls of one image from several goroutines and processes at once
// converge on one image and one copy of each layer.
func TestConcurrentPulls(t *testing.T) {
	host := serve(t)
	push(t, host+"/busybox:latest", withLayer(t, busybox(t), map[string]string{"a": "1"}))
	s := open(t)
	ref := host + "/busybox:latest"

	var procs []*exec.Cmd
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BRIG_TEST_PULL_ROOT="+s.Root(), "BRIG_TEST_PULL_REF="+ref)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s2, err := Open(s.Root())
			if err == nil {
				_, err = s2.Pull(context.Background(), ref, nil)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Errorf("helper process: %v: %s", err, p.Stderr)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d images, %v", len(list), err)
	}
	if n := countDir(t, s.path("layers")); n != 2 {
		t.Errorf("%d layer directories, want 2", n)
	}
	ents, _ := os.ReadDir(s.path("tmp"))
	for _, e := range ents {
		t.Errorf("left in tmp: %s", e.Name())
	}
}

// A crash mid-unpack leaves a temporary directory and a lock file; the
// next Open cleans them, and the layer is not mistaken for complete.
func TestCrashLeftovers(t *testing.T) {
	host := serve(t)
	push(t, host+"/busybox:latest", busybox(t))
	s := open(t)
	os.MkdirAll(s.path("tmp", "layer-123", "root", "bin"), 0o755)
	os.WriteFile(s.path("locks", "abc"), nil, 0o600)
	s2, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if n := countDir(t, s2.path("tmp")) + countDir(t, s2.path("locks")); n != 0 {
		t.Errorf("Open left %d leftovers", n)
	}
	// A layer directory without meta.json (never produced by the store) is
	// replaced, not trusted.
	cfg, _ := busybox(t).ConfigFile()
	stale := s2.layerDir(cfg.RootFS.DiffIDs[0].String())
	os.MkdirAll(filepath.Join(stale, "root"), 0o755)
	img, err := s2.Pull(context.Background(), host+"/busybox:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s2.layerDir(img.Layers[0]), "root", "bin", "busybox")); err != nil {
		t.Errorf("stale layer dir trusted: %v", err)
	}
}

func TestResolveAmbiguousAndCorruptIndex(t *testing.T) {
	s := open(t)
	idx := &index{Images: map[string]*record{}, Tags: map[string]string{}}
	a, b := "sha256:ab"+strings.Repeat("1", 62), "sha256:ac"+strings.Repeat("2", 62)
	idx.Images[a], idx.Images[b] = &record{ID: a}, &record{ID: b}
	if _, _, err := s.lookup(idx, "a"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("lookup(a) = %v, want ambiguous", err)
	}
	if id, _, err := s.lookup(idx, "ac"); err != nil || id != b {
		t.Errorf("lookup(ac) = %s, %v", id, err)
	}
	if id, _, err := s.lookup(idx, "sha256:ab1"); err != nil || id != a {
		t.Errorf("lookup(sha256:ab1) = %s, %v", id, err)
	}
	if err := os.WriteFile(s.path("index.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("List on a corrupt index: %v", err)
	}
}

// truncating cuts layer downloads off mid-stream, as a dropped connection
// or a killed registry would.
type truncating struct {
	http.ResponseWriter
	left int
}

func (w *truncating) Write(p []byte) (int, error) {
	if len(p) > w.left {
		w.ResponseWriter.Write(p[:w.left])
		panic(http.ErrAbortHandler)
	}
	w.left -= len(p)
	return w.ResponseWriter.Write(p)
}

// An interrupted download leaves no layer, image or temporary file, and a
// later pull succeeds.
func TestPullInterrupted(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = &truncating{ResponseWriter: w, left: 200 << 10}
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	push(t, host+"/busybox:latest", busybox(t))

	s := open(t)
	broken.Store(true)
	fast := WithRemoteOptions(remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Steps: 2}))
	if _, err := s.Pull(context.Background(), host+"/busybox", nil, fast); err == nil {
		t.Fatal("pull over a broken connection succeeded")
	}
	for _, d := range []string{"layers", "tmp", "blobs/sha256"} {
		if n := countDir(t, s.path(d)); n != 0 {
			t.Errorf("%s holds %d entries after an interrupted pull", d, n)
		}
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List after an interrupted pull = %v, %v", list, err)
	}
	broken.Store(false)
	if _, err := s.Pull(context.Background(), host+"/busybox", nil); err != nil {
		t.Fatalf("pull after the interrupted one: %v", err)
	}
}

// Removing a container collects only when there is something to collect:
// one whose image is still there leaves the store alone (a collection
// reads every container's record), one whose image was removed under it
// takes that image's layers along, and a collection skipped because
// another removal held the lock is done by the next one.
func TestRemoveCollectsWhenNeeded(t *testing.T) {
	host := serve(t)
	push(t, host+"/busybox:latest", busybox(t))
	s := open(t)
	img, err := s.Pull(context.Background(), host+"/busybox", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A layer directory nothing holds: only a collection removes it.
	stray := s.path("layers", strings.Repeat("e", 64))
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	mount := func(id string, img *Image) {
		t.Helper()
		if _, err := s.Mount(img, id); err != nil {
			t.Fatal(err)
		}
	}
	mount("c1", img)
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Fatalf("a removal with nothing to collect collected: %v", err)
	}

	mount("c2", img)
	if _, err := s.RemoveImage(img.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.lock("gc.lock", false) // another removal at work
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("c2"); err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(s.path(gcWantedFile)); err != nil {
		t.Fatalf("the skipped collection is not marked: %v", err)
	}

	img, err = s.Pull(context.Background(), host+"/busybox", nil)
	if err != nil {
		t.Fatal(err)
	}
	mount("c3", img)
	if err := s.Remove("c3"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the next removal did not collect: %v", err)
	}
	if _, err := os.Stat(s.path(gcWantedFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mark outlived the collection: %v", err)
	}
	if n, want := countDir(t, s.path("layers")), len(img.Layers); n != want {
		t.Errorf("%d layers after collecting, want the image's %d", n, want)
	}
}
