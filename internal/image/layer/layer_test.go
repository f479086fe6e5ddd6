//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type ent struct {
	name, link string
	typ        byte
	mode       int64
	body       string
}

func mktar(t testing.TB, ents ...ent) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// tempDir is t.TempDir that can be removed even when a test leaves
// read-only directories in it, as layers do.
func tempDir(t testing.TB) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return dir
}

func TestUnpackBasic(t *testing.T) {
	dir := tempDir(t)
	st, err := Unpack(mktar(t,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "etc/passwd", typ: tar.TypeReg, body: "root:x:0:0::/:/bin/sh\n"},
		ent{name: "bin/tool", typ: tar.TypeReg, mode: 0o4755, body: "#!"},
		ent{name: "bin/alias", typ: tar.TypeLink, link: "bin/tool"},
		ent{name: "bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"},
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		ent{name: "ro/file", typ: tar.TypeReg, body: "x"},
		ent{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666},
	), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 10 {
		t.Errorf("entries = %d, want 10", st.Entries)
	}
	data, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil || string(data) != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("etc/passwd = %q, %v", data, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "bin/tool"))
	if err != nil || fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool mode = %v, %v; want setuid 0755", fi.Mode(), err)
	}
	a, _ := os.Stat(filepath.Join(dir, "bin/alias"))
	if !os.SameFile(fi, a) {
		t.Error("bin/alias is not a hard link to bin/tool")
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "ro")); fi.Mode().Perm() != 0o555 {
		t.Errorf("ro mode = %v, want 0555 applied after its children", fi.Mode())
	}
	if fi, err := os.Lstat(filepath.Join(dir, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo = %v, %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dev/null")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("device node created without privilege: %v", err)
	}
	if len(st.Skipped) != 1 || st.Skipped[0] != "dev/null" {
		t.Errorf("skipped = %v, want [dev/null]", st.Skipped)
	}
}

// Each of these must be refused and leave nothing outside dir.
func TestUnpackRefusesEscapes(t *testing.T) {
	cases := map[string][]ent{
		"absolute":      {{name: "/evil", typ: tar.TypeReg, body: "x"}},
		"dotdot":        {{name: "../evil", typ: tar.TypeReg, body: "x"}},
		"inner dotdot":  {{name: "a/../../evil", typ: tar.TypeReg, body: "x"}},
		"through link":  {{name: "a", typ: tar.TypeSymlink, link: ".."}, {name: "a/evil", typ: tar.TypeReg, body: "x"}},
		"abs link dir":  {{name: "a", typ: tar.TypeSymlink, link: "/tmp"}, {name: "a/evil", typ: tar.TypeReg, body: "x"}},
		"link in path":  {{name: "d/", typ: tar.TypeDir}, {name: "d/l", typ: tar.TypeSymlink, link: "../.."}, {name: "d/l/x/evil", typ: tar.TypeReg}},
		"hardlink out":  {{name: "h", typ: tar.TypeLink, link: "../outside"}},
		"hardlink abs":  {{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}},
		"hardlink link": {{name: "a", typ: tar.TypeSymlink, link: "/etc"}, {name: "h", typ: tar.TypeLink, link: "a/passwd"}},
		"whiteout dots": {{name: ".wh...", typ: tar.TypeReg}},
		"root not dir":  {{name: ".", typ: tar.TypeReg}},
	}
	for name, ents := range cases {
		t.Run(name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "a", "b")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(top, "outside"), []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Unpack(mktar(t, ents...), dir, Options{Whiteouts: AUFS})
			if err == nil {
				t.Fatal("unpack succeeded")
			}
			if !errors.Is(err, ErrUnsafe) && name != "hardlink link" {
				t.Errorf("error %v does not wrap ErrUnsafe", err)
			}
			for _, p := range []string{filepath.Join(top, "evil"), filepath.Join(top, "a", "evil"), "/tmp/evil"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}

func TestUnpackBadTar(t *testing.T) {
	_, err := Unpack(bytes.NewReader([]byte("this is not a tar archive, not at all, no............................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................")), t.TempDir(), Options{})
	if err == nil {
		t.Fatal("garbage accepted as a tar")
	}
	// Truncated inside a file's content.
	full := mktar(t, ent{name: "big", typ: tar.TypeReg, body: strings.Repeat("x", 5000)}).Bytes()
	if _, err := Unpack(bytes.NewReader(full[:3000]), t.TempDir(), Options{}); err == nil {
		t.Fatal("truncated tar accepted")
	}
	// Zero runs are written as holes but read back as zeros.
	dir := t.TempDir()
	body := "head" + strings.Repeat("\x00", 200<<10) + "tail" + strings.Repeat("\x00", 100<<10)
	if _, err := Unpack(mktar(t, ent{name: "sparse", typ: tar.TypeReg, body: body}), dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "sparse")); err != nil || string(got) != body {
		t.Errorf("sparse copy differs (%d bytes, %v)", len(got), err)
	}
}

func TestAUFSWhiteoutsAndApply(t *testing.T) {
	lower, upper, dst := tempDir(t), tempDir(t), tempDir(t)
	if _, err := Unpack(mktar(t,
		ent{name: "keep", typ: tar.TypeReg, body: "k"},
		ent{name: "gone", typ: tar.TypeReg, body: "g"},
		ent{name: "opq/old", typ: tar.TypeReg, body: "o"},
		ent{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
		ent{name: "usr/lib/x", typ: tar.TypeReg, body: "x"},
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555},
		ent{name: "ro/f", typ: tar.TypeReg, body: "f"},
	), lower, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(mktar(t,
		ent{name: ".wh.gone", typ: tar.TypeReg},
		ent{name: "opq/.wh..wh..opq", typ: tar.TypeReg},
		ent{name: "opq/new", typ: tar.TypeReg, body: "n"},
		ent{name: "lib/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "lib/y", typ: tar.TypeReg, body: "y"},
		ent{name: "ro/g", typ: tar.TypeReg, body: "g"},
		ent{name: "keep", typ: tar.TypeReg, body: "k2"},
	), upper, Options{Whiteouts: AUFS}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(upper, ".wh.gone")); err != nil {
		t.Fatalf("aufs whiteout not kept: %v", err)
	}
	for _, l := range []string{lower, upper} {
		if err := Apply(l, dst, false); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"keep": "k2", "opq/new": "n", "lib/y": "y", "usr/lib/x": "x", "ro/f": "f", "ro/g": "g"}
	for p, body := range want {
		if data, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(data) != body {
			t.Errorf("%s = %q, %v; want %q", p, data, err, body)
		}
	}
	for _, p := range []string{"gone", "opq/old", ".wh.gone", "opq/.wh..wh..opq", "lib/x"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); err == nil {
			t.Errorf("%s exists after apply", p)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dst, "lib")); err != nil || !fi.IsDir() {
		t.Errorf("lib should be the upper directory, not the lower symlink: %v %v", fi, err)
	}
}

func TestOverlayWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlay whiteouts need CAP_MKNOD and CAP_SYS_ADMIN; covered when run as root")
	}
	dir := t.TempDir()
	if _, err := Unpack(mktar(t,
		ent{name: ".wh.gone", typ: tar.TypeReg},
		ent{name: "opq/.wh..wh..opq", typ: tar.TypeReg},
		ent{name: "opq/new", typ: tar.TypeReg, body: "n"},
	), dir, Options{Whiteouts: Overlay, Privileged: true}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "gone"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("gone = %v, %v; want a 0:0 char device", fi, err)
	}
	if !isOpaque(filepath.Join(dir, "opq"), nil) {
		t.Error("opq lacks trusted.overlay.opaque")
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add(mktar(f, ent{name: "a/b", typ: tar.TypeReg, body: "x"}, ent{name: "l", typ: tar.TypeSymlink, link: "a"}).Bytes())
	f.Add(mktar(f, ent{name: "../x", typ: tar.TypeReg}).Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		top := t.TempDir()
		dir := filepath.Join(top, "d")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, _ = Unpack(bytes.NewReader(data), dir, Options{})
		ents, _ := os.ReadDir(top)
		if len(ents) != 1 {
			t.Fatalf("unpack wrote outside its directory: %v", ents)
		}
	})
}
