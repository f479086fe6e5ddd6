// Package testimage builds a minimal busybox image from Debian's
// busybox-static (/bin/busybox), for tests and for the offline demo image.
//
// The rootfs has busybox, a symlink per applet (as `busybox --install -s`
// would make them), /etc/passwd and /etc/group with root, a uid 1000 user and
// nobody, and the usual empty directories. Every timestamp is fixed, so the
// tarball, and therefore the layer's digest, is the same on every build.
package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/brigrt/brig/internal/image/layer"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Busybox is where Debian's busybox-static package installs the binary.
var Busybox = "/bin/busybox"

// Name is the demo image's name.
const Name = "brig-demo:latest"

// Epoch is the modification time of every entry.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"user:x:1000:1000:user:/home/user:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"
)

var (
	once    sync.Once
	tarData []byte
	tarErr  error
)

// Tarball writes the rootfs as an uncompressed tar stream.
func Tarball(w io.Writer) error {
	once.Do(func() { tarData, tarErr = build() })
	if tarErr != nil {
		return tarErr
	}
	_, err := w.Write(tarData)
	return err
}

// Rootfs unpacks the rootfs into dir (created if missing). As root, owners
// and modes are the image's; otherwise files belong to the caller.
func Rootfs(dir string) error {
	var buf bytes.Buffer
	if err := Tarball(&buf); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err := layer.Unpack(&buf, dir, layer.Options{Privileged: os.Geteuid() == 0})
	return err
}

// Layer returns the rootfs as an image layer (gzip-compressed on demand).
func Layer() (v1.Layer, error) {
	var buf bytes.Buffer
	if err := Tarball(&buf); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// Image returns an OCI image of the rootfs, running /bin/sh by default.
func Image() (v1.Image, error) {
	l, err := Layer()
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: "brig testimage (busybox-static)"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: Epoch}
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "brig busybox test image"}
	return mutate.ConfigFile(img, cf)
}

// applets asks busybox for its applet paths ("bin/sh", "usr/bin/env", ...).
func applets() ([]string, error) {
	out, err := exec.Command(Busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets (is busybox-static installed?): %w", err)
	}
	var list []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l == "bin/busybox" || strings.Contains(l, "..") {
			continue
		}
		list = append(list, strings.TrimPrefix(l, "/"))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s --list-full listed no applets", Busybox)
	}
	sort.Strings(list)
	return list, nil
}

func build() ([]byte, error) {
	bin, err := os.ReadFile(Busybox)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (install Debian's busybox-static): %w", err)
	}
	links, err := applets()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	add := func(h *tar.Header, body []byte) error {
		h.ModTime, h.Format = Epoch, tar.FormatPAX
		if h.Uname == "" && h.Uid == 0 {
			h.Uname, h.Gname = "root", "root"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	dir := func(name string, mode int64, uid int) error {
		dirs[name] = true
		return add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid}, nil)
	}
	for _, d := range []struct {
		name string
		mode int64
		uid  int
	}{
		{"bin", 0o755, 0}, {"dev", 0o755, 0}, {"etc", 0o755, 0}, {"home", 0o755, 0},
		{"home/user", 0o755, 1000}, {"proc", 0o555, 0}, {"root", 0o700, 0}, {"run", 0o755, 0},
		{"sbin", 0o755, 0}, {"sys", 0o555, 0}, {"tmp", 0o1777, 0}, {"usr", 0o755, 0},
		{"usr/bin", 0o755, 0}, {"usr/sbin", 0o755, 0}, {"var", 0o755, 0}, {"var/tmp", 0o1777, 0},
	} {
		if err := dir(d.name, d.mode, d.uid); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		body []byte
	}{
		{"bin/busybox", 0o755, bin},
		{"etc/passwd", 0o644, []byte(passwd)},
		{"etc/group", 0o644, []byte(group)},
		{"etc/hostname", 0o644, []byte("brig\n")},
		{"etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n")},
	}
	for _, f := range files {
		if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.body))}, f.body); err != nil {
			return nil, err
		}
	}
	for _, l := range links {
		if d := path.Dir(l); !dirs[d] {
			if err := dir(d, 0o755, 0); err != nil {
				return nil, err
			}
		}
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: "/bin/busybox", Mode: 0o777}, nil); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
