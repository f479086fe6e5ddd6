package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// resolve flags: stay below the root, never follow a symlink or magic link.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

type dirMeta struct {
	name  string
	hdr   *tar.Header
	mtime time.Time
}

type unpacker struct {
	dir   string
	root  int
	opt   Options
	stats Stats
	dirs  []dirMeta
}

// Unpack extracts the tar stream r into dir, which should be empty. Entries
// that name absolute paths, "..", or pass through a symlink are refused with
// an error wrapping ErrUnsafe; hard links may only point at entries inside
// dir. Unpack reads r only up to the end of the tar archive.
func Unpack(r io.Reader, dir string, opt Options) (Stats, error) {
	root, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(root)
	u := &unpacker{dir: dir, root: root, opt: opt}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.stats, fmt.Errorf("reading tar after %d entries: %w", u.stats.Entries, err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.stats, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		u.stats.Entries++
	}
	// Directory modes and times last: a read-only directory must still
	// accept its children, and creating children bumps mtime.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.finishDir(u.dirs[i]); err != nil {
			return u.stats, fmt.Errorf("directory %q: %w", u.dirs[i].name, err)
		}
	}
	return u.stats, nil
}

// openDir opens dir name below the root, creating missing components, and
// refuses any component that is not a real directory.
func (u *unpacker) openDir(name string) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: resolveFlags}
	fd, err := unix.Openat2(u.root, name, how)
	if err == nil {
		return fd, nil
	}
	if err != unix.ENOENT {
		return -1, u.pathErr(name, err)
	}
	// Walk component by component, creating what is missing.
	cur, err := unix.Dup(u.root)
	if err != nil {
		return -1, err
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." {
			continue
		}
		next, err := unix.Openat2(cur, part, how)
		if err == unix.ENOENT {
			if err = unix.Mkdirat(cur, part, 0o755); err == nil {
				// Parents the tar does not list get 0755 whatever the umask.
				err = unix.Fchmodat(cur, part, 0o755, 0)
			}
			if err != nil && err != unix.EEXIST {
				unix.Close(cur)
				return -1, u.pathErr(name, err)
			}
			next, err = unix.Openat2(cur, part, how)
		}
		unix.Close(cur)
		if err != nil {
			return -1, u.pathErr(name, err)
		}
		cur = next
	}
	return cur, nil
}

func (u *unpacker) pathErr(name string, err error) error {
	switch err {
	case unix.ELOOP, unix.EXDEV, unix.ENOTDIR:
		return fmt.Errorf("%w: %q passes through a symlink or non-directory", ErrUnsafe, name)
	}
	return &os.PathError{Op: "open", Path: name, Err: err}
}

// clear removes whatever sits at base in parent, so an entry can replace it.
// Directories are kept when keepDir is set (tar entries for an existing
// directory update it in place).
func (u *unpacker) clear(pfd int, name, base string, keepDir bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(pfd, base, 0)
	}
	if keepDir {
		return nil
	}
	// The parent was just reached without symlinks and nobody else writes
	// into a directory being unpacked, so a path-based RemoveAll is safe.
	return os.RemoveAll(filepath.Join(u.dir, name))
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	name, err := clean(hdr.Name)
	if err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: the layer root must be a directory", ErrUnsafe)
		}
		u.dirs = append(u.dirs, dirMeta{name: ".", hdr: hdr, mtime: hdr.ModTime})
		return nil
	}
	parent, base := path.Split(name)
	if parent == "" {
		parent = "."
	}
	pfd, err := u.openDir(parent)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)

	if strings.HasPrefix(base, whPrefix) {
		return u.whiteout(pfd, name, base)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := u.clear(pfd, name, base, true); err != nil {
			return err
		}
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil && err != unix.EEXIST {
			return err
		}
		u.dirs = append(u.dirs, dirMeta{name: name, hdr: hdr, mtime: hdr.ModTime})
		return nil
	case tar.TypeReg:
		if err := u.clear(pfd, name, base, false); err != nil {
			return err
		}
		return u.file(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if err := u.clear(pfd, name, base, false); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := clean(hdr.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("%w: hard link to %q", ErrUnsafe, hdr.Linkname)
		}
		tparent, tbase := path.Split(target)
		if tparent == "" {
			tparent = "."
		}
		how := &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: resolveFlags}
		tfd, err := unix.Openat2(u.root, tparent, how)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", hdr.Linkname, u.pathErr(tparent, err))
		}
		defer unix.Close(tfd)
		if target != name {
			if err := u.clear(pfd, name, base, false); err != nil {
				return err
			}
		}
		// No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
		if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
			if err == unix.ENOENT {
				return fmt.Errorf("hard link target %q is not in the layer", hdr.Linkname)
			}
			return err
		}
		return nil // a hard link shares the target's metadata
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if hdr.Typeflag != tar.TypeFifo && !u.opt.Privileged {
			u.stats.Skipped = append(u.stats.Skipped, name)
			return nil
		}
		if err := u.clear(pfd, name, base, false); err != nil {
			return err
		}
		mode := uint32(hdr.Mode & 0o7777)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode |= unix.S_IFCHR
		case tar.TypeBlock:
			mode |= unix.S_IFBLK
		default:
			mode |= unix.S_IFIFO
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, mode, int(dev)); err != nil {
			return err
		}
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	if err := u.chown(pfd, base, hdr); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr.ModTime)
}

func (u *unpacker) file(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	n, err := copySparse(f, r)
	if err != nil {
		return err
	}
	u.stats.Bytes += n
	if u.opt.Privileged {
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	// After chown, which clears setuid/setgid bits.
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	u.xattrs(fd, hdr)
	return setTimes(pfd, base, hdr.ModTime)
}

func (u *unpacker) chown(pfd int, base string, hdr *tar.Header) error {
	if !u.opt.Privileged {
		return nil
	}
	return unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
}

// xattrs sets the entry's allowed extended attributes. Filesystems without
// xattr support lose them silently, as docker and podman do.
func (u *unpacker) xattrs(fd int, hdr *tar.Header) {
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || !xattrAllowed(key) {
			continue
		}
		_ = unix.Fsetxattr(fd, key, []byte(v), 0)
	}
}

func (u *unpacker) whiteout(pfd int, name, base string) error {
	if base == whOpaque {
		if u.opt.Whiteouts == Overlay {
			fd, err := unix.Openat(pfd, ".", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0)
		}
		return u.touch(pfd, name, base)
	}
	if strings.HasPrefix(base, whMeta) {
		return nil // aufs bookkeeping (.wh..wh.plnk and friends)
	}
	target := strings.TrimPrefix(base, whPrefix)
	if target == "" || target == "." || target == ".." {
		return fmt.Errorf("%w: bad whiteout %q", ErrUnsafe, name)
	}
	if u.opt.Whiteouts == Overlay {
		if err := u.clear(pfd, path.Join(path.Dir(name), target), target, false); err != nil {
			return err
		}
		return unix.Mknodat(pfd, target, unix.S_IFCHR, 0)
	}
	return u.touch(pfd, name, base)
}

// touch creates an empty marker file, replacing whatever was there rather
// than opening it (an existing special file could block an open).
func (u *unpacker) touch(pfd int, name, base string) error {
	if err := u.clear(pfd, name, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func (u *unpacker) finishDir(d dirMeta) error {
	how := &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: resolveFlags}
	fd, err := unix.Openat2(u.root, d.name, how)
	if err != nil {
		return u.pathErr(d.name, err)
	}
	defer unix.Close(fd)
	if u.opt.Privileged {
		if err := unix.Fchown(fd, d.hdr.Uid, d.hdr.Gid); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, uint32(d.hdr.Mode&0o7777)); err != nil {
		return err
	}
	u.xattrs(fd, d.hdr)
	return setTimes(u.root, d.name, d.mtime)
}

func setTimes(pfd int, base string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EPERM) {
		return nil
	}
	return err
}

var zeros [32 << 10]byte

// copySparse copies r to f, seeking over blocks of zeros instead of
// writing them: sparse files in the tar (whose holes the tar reader expands
// as zeros) stay sparse on disk rather than filling it.
func copySparse(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, len(zeros))
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zeros[:n]) {
				if _, serr := f.Seek(int64(n), io.SeekCurrent); serr != nil {
					return total, serr
				}
			} else if _, werr := f.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			// A trailing hole needs the size set explicitly.
			return total, f.Truncate(total)
		}
		if err != nil {
			return total, err
		}
	}
}
