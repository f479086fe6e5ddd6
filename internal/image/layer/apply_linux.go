package layer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Apply copies the unpacked layer src (as written by Unpack, in either
// whiteout format) onto dst so that dst shows what overlayfs would show with
// src above it: whiteouts delete, opaque directories hide dst's contents,
// and a non-directory replaces whatever was there. It is the fallback for
// hosts where overlayfs cannot be mounted.
//
// dst is built only by Apply, so every directory it descends into has been
// checked with lstat to be a real directory: nothing follows a symlink that
// an earlier layer planted.
func Apply(src, dst string, privileged bool) error {
	a := &applier{src: src, dst: dst, privileged: privileged, links: map[[2]uint64]string{}}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := os.Chmod(dst, 0o700); err != nil {
		return err
	}
	if err := a.dir("."); err != nil {
		return err
	}
	return a.meta(src, dst, fi)
}

type applier struct {
	src, dst   string
	privileged bool
	links      map[[2]uint64]string // src (dev, inode) -> dst path, for hard links
}

func (a *applier) dir(rel string) error {
	s, d := filepath.Join(a.src, rel), filepath.Join(a.dst, rel)
	ents, err := os.ReadDir(s)
	if err != nil {
		return err
	}
	if isOpaque(s, ents) {
		old, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range old {
			if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, whMeta) {
			continue
		}
		if target, ok := strings.CutPrefix(name, whPrefix); ok {
			if err := os.RemoveAll(filepath.Join(d, target)); err != nil {
				return err
			}
			continue
		}
		if err := a.entry(filepath.Join(rel, name)); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(rel, name), err)
		}
	}
	return nil
}

func isOpaque(dir string, ents []os.DirEntry) bool {
	for _, e := range ents {
		if e.Name() == whOpaque {
			return true
		}
	}
	buf := make([]byte, 4)
	n, err := unix.Lgetxattr(dir, opaqueXattr, buf)
	return err == nil && string(buf[:n]) == "y"
}

func (a *applier) entry(rel string) error {
	s, d := filepath.Join(a.src, rel), filepath.Join(a.dst, rel)
	fi, err := os.Lstat(s)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode()
	if mode&os.ModeCharDevice != 0 && st.Rdev == 0 {
		return os.RemoveAll(d) // an overlay whiteout
	}
	dfi, derr := os.Lstat(d)
	if mode.IsDir() {
		if derr == nil && !dfi.IsDir() {
			if err := os.Remove(d); err != nil {
				return err
			}
		}
		if derr != nil || !dfi.IsDir() {
			if err := os.Mkdir(d, 0o700); err != nil {
				return err
			}
		} else if err := os.Chmod(d, 0o700); err != nil {
			// A read-only directory from a lower layer must take new
			// entries; meta sets the final mode.
			return err
		}
		if err := a.dir(rel); err != nil {
			return err
		}
		return a.meta(s, d, fi)
	}
	if derr == nil {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	key := [2]uint64{st.Dev, st.Ino}
	if st.Nlink > 1 && !mode.IsDir() {
		if prev, ok := a.links[key]; ok {
			return os.Link(prev, d)
		}
		a.links[key] = d
	}
	switch {
	case mode.IsRegular():
		if err := copyFile(s, d); err != nil {
			return err
		}
	case mode&os.ModeSymlink != 0:
		target, err := os.Readlink(s)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, d); err != nil {
			return err
		}
	case mode&(os.ModeDevice|os.ModeNamedPipe) != 0:
		if err := unix.Mknod(d, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return nil // sockets are not image content
	}
	return a.meta(s, d, fi)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// meta copies owner, mode, allowed xattrs and times from s to d.
func (a *applier) meta(s, d string, fi os.FileInfo) error {
	st := fi.Sys().(*syscall.Stat_t)
	if a.privileged {
		if err := os.Lchown(d, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		if err := unix.Chmod(d, st.Mode&0o7777); err != nil {
			return err
		}
		copyXattrs(s, d)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, d, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func copyXattrs(s, d string) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(s, buf)
	if err != nil || n <= 0 {
		return
	}
	for _, key := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !xattrAllowed(key) {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(s, key, val)
		if err != nil {
			continue
		}
		_ = unix.Lsetxattr(d, key, val[:m], 0)
	}
}
