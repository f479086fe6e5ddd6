package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are created in every container with a tmpfs /dev, as runc does.
var defaultDevices = []struct {
	path         string
	major, minor int64
}{
	{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
	{"/dev/tty", 5, 0}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9},
}

// rootfs sets up a container's filesystem view from the spec. It runs in
// the init, inside the new mount namespace, before pivot_root.
type rootfs struct {
	cfg  *initConfig
	spec *initSpec
	root string
	// userns is set when the init runs in a new user namespace, where
	// mknod is refused and device nodes are bind-mounted from the host.
	userns bool
}

// prepare makes the rootfs a private mount point and mounts everything
// the spec asks for under it; devices follow in devices.
func (r *rootfs) prepare() error {
	flag := uintptr(msSlave | msRec)
	if p := r.spec.Propagation; p != "" {
		flag = propagation[p]
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return fmt.Errorf("set / propagation: %w", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(r.root, r.root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs: %w", err)
	}
	for _, m := range r.spec.Mounts {
		if err := r.mount(m); err != nil {
			return fmt.Errorf("mount %s to %s: %w", m.Source, m.Destination, err)
		}
	}
	return nil
}

// devices creates /dev's nodes. It runs before the runtime sets the
// cgroup limits (see serveInit), as runc's init does: the spec's device
// rules may deny mknod of a node it also lists.
func (r *rootfs) devices() error {
	for _, m := range r.spec.Mounts {
		if filepath.Clean(m.Destination) == "/dev" && m.Type == "tmpfs" {
			if err := r.setupDev(); err != nil {
				return err
			}
			break
		}
	}
	for _, d := range r.spec.Devices {
		if err := r.createDevice(d); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	return nil
}

// open resolves dest inside the rootfs without following symlinks out of it
// (CVE-2021-30465: a symlink swapped in for a mount destination must not
// redirect the mount onto the host).
func (r *rootfs) open(dest string) (*os.File, error) {
	return openInRoot(r.rootFd(), dest)
}

// mkdest creates the mount point: a directory, or an empty file when the
// source is not a directory.
func (r *rootfs) mkdest(dest string, file bool) (*os.File, error) {
	if !file {
		return r.mkdirAll(dest)
	}
	if f, err := r.open(dest); err == nil {
		return f, nil
	}
	dir, err := r.mkdirAll(filepath.Dir(dest))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(dest), unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	if err == nil {
		unix.Close(fd)
	}
	return r.open(dest)
}

// mkdirAll opens dir inside the rootfs, creating what is missing with
// filepath-securejoin (which never follows a symlink out of the root).
func (r *rootfs) mkdirAll(dir string) (*os.File, error) {
	if f, err := r.open(dir); err == nil {
		return f, nil
	}
	// The common case, only the last component missing (/dev/pts in a
	// fresh tmpfs, each hierarchy under /sys/fs/cgroup), is one mkdirat
	// under the parent resolved in the root: the name has no slash, and
	// neither mkdirat nor the open below follows a symlink planted there.
	dir = filepath.Clean("/" + dir)
	if parent, err := r.open(filepath.Dir(dir)); err == nil {
		defer parent.Close()
		base := filepath.Base(dir)
		if err := unix.Mkdirat(int(parent.Fd()), base, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
			how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
			if fd, err := unix.Openat2(int(parent.Fd()), base, &how); err == nil {
				return os.NewFile(uintptr(fd), dir), nil
			}
		}
	}
	return pathrs.MkdirAllHandle(r.rootFd(), dir, 0o755)
}

var rootHandle *os.File

func (r *rootfs) rootFd() *os.File {
	if rootHandle == nil {
		f, err := os.OpenFile(r.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			panic(err) // the rootfs was validated and bound moments ago
		}
		rootHandle = f
	}
	return rootHandle
}

func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

func (r *rootfs) mount(m specs.Mount) error {
	o := parseMountOptions(m.Options)
	if len(o.unknown) > 0 {
		return fmt.Errorf("unsupported mount option %q", o.unknown[0])
	}
	typ := m.Type
	if typ == "" && o.flags&unix.MS_BIND != 0 {
		typ = "bind"
	}
	switch typ {
	case "bind", "none", "":
		if o.flags&unix.MS_BIND == 0 {
			return errors.New("mount without a type needs the bind option")
		}
		return r.bind(m, o)
	case "cgroup", "cgroup2":
		return r.mountCgroup(m, o)
	}
	dest, err := r.mkdest(m.Destination, false)
	if err != nil {
		return err
	}
	defer dest.Close()
	if typ == "proc" || typ == "sysfs" {
		// CVE-2019-16884: an image whose /proc is a symlink (or a volume
		// over it) would let the container fake /proc/self/attr and escape
		// its LSM. Mount only onto a real directory at the exact path.
		if err := r.checkExact(dest, m.Destination); err != nil {
			return err
		}
	}
	data := o.dataString()
	if label := r.spec.MountLabel; label != "" && selinuxEnabled() && (typ == "tmpfs" || typ == "devpts" || typ == "mqueue") {
		data = joinOpt(data, "context=\""+label+"\"")
	}
	flags := o.flags &^ unix.MS_REMOUNT
	err = unix.Mount(m.Source, fdPath(dest), typ, flags, data)
	if errors.Is(err, unix.EINVAL) && typ == "mqueue" && data != o.dataString() {
		// Kernels that cannot mount mqueue with context= (Debian's 6.1
		// among them): mount it unlabelled, then label its root, as runc does.
		if err = unix.Mount(m.Source, fdPath(dest), typ, flags, o.dataString()); err == nil {
			label := r.spec.MountLabel
			err = r.withPath(m.Destination, func(p string) error {
				if err := unix.Setxattr(p, "security.selinux", []byte(label), 0); err != nil {
					return fmt.Errorf("label %s %s: %w", m.Destination, label, err)
				}
				return nil
			})
		}
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
		if typ == "mqueue" || typ == "sysfs" {
			// In a user namespace without its own netns/ipcns these are
			// refused; bind the host's instead, as runc does.
			err = unix.Mount("/"+strings.TrimPrefix(m.Destination, "/"), fdPath(dest), "", unix.MS_BIND|unix.MS_REC, "")
			if err == nil {
				err = r.remount(m.Destination, flags|unix.MS_BIND)
			}
		}
	}
	if err != nil {
		return err
	}
	if typ == "proc" || typ == "sysfs" {
		return r.checkFS(m.Destination, typ)
	}
	for _, p := range o.prop {
		if err := r.withPath(m.Destination, func(p2 string) error { return unix.Mount("", p2, "", p, "") }); err != nil {
			return err
		}
	}
	return nil
}

func joinOpt(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// checkExact refuses a destination that resolved somewhere other than the
// literal path, i.e. through a symlink.
func (r *rootfs) checkExact(f *os.File, dest string) error {
	got, err := os.Readlink(fdPath(f))
	if err != nil {
		return err
	}
	want := filepath.Join(r.root, filepath.Clean("/"+dest))
	if got != want {
		return fmt.Errorf("refusing to mount on %s: it resolves to %s (a symlink in the rootfs)", dest, strings.TrimPrefix(got, r.root))
	}
	return nil
}

// checkFS verifies that what is now mounted at dest is a real proc or sysfs.
func (r *rootfs) checkFS(dest, typ string) error {
	f, err := r.open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return err
	}
	want := int64(unix.PROC_SUPER_MAGIC)
	if typ == "sysfs" {
		want = unix.SYSFS_MAGIC
	}
	if int64(st.Type) != want {
		return fmt.Errorf("%s is not a %s filesystem after mounting (type %#x)", dest, typ, st.Type)
	}
	return nil
}

func (r *rootfs) withPath(dest string, fn func(string) error) error {
	f, err := r.open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(fdPath(f))
}

func (r *rootfs) bind(m specs.Mount, o mountOpts) error {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(r.cfg.Bundle, src)
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	// Open the source once and mount from the fd, so a symlink swapped in
	// after the check cannot change what gets mounted.
	sf, err := os.OpenFile(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer sf.Close()
	dest, err := r.mkdest(m.Destination, !st.IsDir())
	if err != nil {
		return err
	}
	defer dest.Close()
	flags := uintptr(unix.MS_BIND) | (o.flags & msRec)
	if err := unix.Mount(fdPath(sf), fdPath(dest), "", flags, ""); err != nil {
		return err
	}
	if o.flags&^(unix.MS_BIND|msRec|unix.MS_REMOUNT) != 0 {
		if err := r.remount(m.Destination, o.flags|unix.MS_BIND); err != nil {
			return err
		}
	}
	for _, p := range o.prop {
		if err := r.withPath(m.Destination, func(p2 string) error { return unix.Mount("", p2, "", p, "") }); err != nil {
			return err
		}
	}
	return nil
}

// remount applies flags to the mount now at dest, keeping the flags the
// kernel locks (nosuid, nodev, noexec, atime) so the remount is not refused.
func (r *rootfs) remount(dest string, flags uintptr) error {
	return r.withPath(dest, func(p string) error { return remountPath(p, flags) })
}

func remountPath(p string, flags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	flags = (flags &^ msRec) | unix.MS_REMOUNT | unix.MS_BIND | locked
	return unix.Mount("", p, "", flags, "")
}

// mountCgroup exposes the container's own cgroups at dest: its v2
// directory on a unified host, or one bind per v1 hierarchy under a tmpfs.
func (r *rootfs) mountCgroup(m specs.Mount, o mountOpts) error {
	cs := r.cfg.Cgroup
	ro := o.flags&unix.MS_RDONLY != 0
	dest, err := r.mkdest(m.Destination, false)
	if err != nil {
		return err
	}
	defer dest.Close()
	if cs == nil {
		return nil
	}
	if cs.V1 == nil {
		if cs.V2 == "" {
			return nil
		}
		return r.bindTree(cs.V2, dest, "", m.Destination, o.flags)
	}
	if err := unix.Mount("tmpfs", fdPath(dest), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return err
	}
	// The fresh tmpfs, not the directory it covers. Nothing but this init
	// can reach it yet, so names are created in it directly.
	top, err := r.open(m.Destination)
	if err != nil {
		return err
	}
	defer top.Close()
	// One bind per hierarchy; co-mounted controllers (cpu,cpuacct) get
	// symlinks, as on the host.
	byDir := map[string][]string{}
	for ctrl, dir := range cs.V1 {
		byDir[dir] = append(byDir[dir], ctrl)
	}
	// On a hybrid host the cgroup2 (unified) directory is not exposed:
	// runc 1.1 binds only the v1 hierarchies (GetCgroupMounts(false)) and
	// so does crun, so a container (systemd in it, say) sees the same
	// legacy layout under either runtime (test/engines TestPodmanMounts).
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sortStrings(dirs)
	flags := unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | boolFlag(ro, unix.MS_RDONLY)
	for _, dir := range dirs {
		name := filepath.Base(strings.TrimSuffix(dir, cs.Path))
		err := r.bindTree(dir, top, name, filepath.Join(m.Destination, name), flags)
		if errors.Is(err, os.ErrNotExist) {
			continue // a hierarchy the container has no directory in
		}
		if err != nil {
			return fmt.Errorf("bind %s: %w", dir, err)
		}
		for _, ctrl := range byDir[dir] {
			if ctrl != "" && ctrl != name && !strings.Contains(ctrl, "=") {
				_ = unix.Symlinkat(name, int(top.Fd()), ctrl)
			}
		}
	}
	if ro {
		return r.remount(m.Destination, unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
	}
	return nil
}

// bindTree binds the host directory src, recursively and with flags
// (MS_RDONLY, MS_NOSUID, ...), onto name under dir, creating that
// directory; name "" means dir itself. dest is the same place as a path
// in the rootfs, for kernels without the new mount API. A missing src
// is an error wrapping os.ErrNotExist.
func (r *rootfs) bindTree(src string, dir *os.File, name, dest string, flags uintptr) error {
	tree, err := cloneTree(unix.AT_FDCWD, src, 0, flags)
	if err == nil {
		if name != "" {
			if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && err != unix.EEXIST {
				unix.Close(tree)
				return err
			}
		}
		return attachTree(tree, int(dir.Fd()), name)
	}
	if err != errNoMountAPI {
		return &os.PathError{Op: "open_tree", Path: src, Err: err}
	}
	if _, err := os.Stat(src); err != nil {
		return err
	}
	d, err := r.mkdest(dest, false)
	if err != nil {
		return err
	}
	err = unix.Mount(src, fdPath(d), "", unix.MS_BIND|unix.MS_REC, "")
	d.Close()
	if err != nil {
		return err
	}
	return r.remount(dest, flags|unix.MS_BIND)
}

func boolFlag(b bool, f uintptr) uintptr {
	if b {
		return f
	}
	return 0
}

// setupDev fills a fresh tmpfs /dev: default nodes, the standard symlinks
// and /dev/ptmx pointing at the container's own devpts.
func (r *rootfs) setupDev() error {
	for _, d := range defaultDevices {
		if err := r.createDevice(specs.LinuxDevice{Path: d.path, Type: "c", Major: d.major, Minor: d.minor, FileMode: fileMode(0o666)}); err != nil {
			return fmt.Errorf("device %s: %w", d.path, err)
		}
	}
	links := [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	dev, err := r.open("/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	for _, l := range links {
		if err := unix.Symlinkat(l[0], int(dev.Fd()), filepath.Base(l[1])); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink %s: %w", l[1], err)
		}
	}
	return nil
}

func fileMode(m os.FileMode) *os.FileMode { return &m }

func (r *rootfs) createDevice(d specs.LinuxDevice) error {
	dir, err := r.mkdirAll(filepath.Dir(d.Path))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := filepath.Base(d.Path)
	if r.userns {
		// mknod is not allowed in a user namespace: bind the host's node.
		host, err := os.OpenFile(d.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer host.Close()
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o644)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		if err == nil {
			unix.Close(fd)
		}
		return r.withPath(d.Path, func(p string) error { return unix.Mount(fdPath(host), p, "", unix.MS_BIND, "") })
	}
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(d.FileMode.Perm())
	}
	switch d.Type {
	case "c", "u":
		mode |= unix.S_IFCHR
	case "b":
		mode |= unix.S_IFBLK
	case "p":
		mode |= unix.S_IFIFO
	default:
		return fmt.Errorf("unknown device type %q", d.Type)
	}
	_ = unix.Unlinkat(int(dir.Fd()), name, 0)
	if err := unix.Mknodat(int(dir.Fd()), name, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	// mknod is subject to the umask; set the exact mode and owner.
	if err := unix.Fchmodat(int(dir.Fd()), name, mode&0o7777, 0); err != nil {
		return err
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	return unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
}

// pivot makes the rootfs the container's / and detaches the host's tree.
func (r *rootfs) pivot(noPivot bool) error {
	if err := unix.Chdir(r.root); err != nil {
		return err
	}
	if noPivot {
		if err := unix.Mount(r.root, "/", "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move rootfs: %w", err)
		}
		if err := unix.Chroot("."); err != nil {
			return err
		}
		return unix.Chdir("/")
	}
	// pivot_root(".", ".") stacks the old root under the new one; it is
	// then made a slave (so the unmount does not propagate to the host)
	// and lazily unmounted.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	return unix.Chdir("/")
}

// maskPaths hides paths after pivot_root: /dev/null over files, an empty
// read-only tmpfs over directories.
//
// CVE-2025-31133: /dev/null itself may have been replaced (by the image or
// a shared volume) with a symlink to a sensitive file, turning "mask" into
// "bind that file writable". It is opened without following symlinks and
// must be the real character device 1:3, and it is mounted from that fd.
func maskPaths(paths []string, label string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := os.OpenFile("/dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null for masking: %w", err)
	}
	defer null.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		return errors.New("/dev/null in the container is not the null device; refusing to use it for masked paths")
	}
	return eachInRoot(paths, "mask", func(_ *os.File, _ string, f *os.File) error {
		var fst unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &fst); err != nil {
			return err
		}
		if fst.Mode&unix.S_IFMT == unix.S_IFDIR {
			data := ""
			if label != "" && selinuxEnabled() {
				data = "context=\"" + label + "\""
			}
			return unix.Mount("tmpfs", fdPath(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, data)
		}
		if err := bindFd(int(null.Fd()), int(f.Fd()), 0); err != errNoMountAPI {
			return err
		}
		return unix.Mount(fdPath(null), fdPath(f), "", unix.MS_BIND, "")
	})
}

// eachInRoot runs fn on each path that exists under the (already pivoted)
// root, opened without leaving it. A mount made on f is not reached
// through f afterwards (f is the covered inode): fn reopens p in root for that.
func eachInRoot(paths []string, what string, fn func(root *os.File, p string, f *os.File) error) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, p := range paths {
		f, err := openInRoot(root, p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			err = fn(root, p, f)
			f.Close()
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, p, err)
		}
	}
	return nil
}

// readonlyPaths bind-mounts each path onto itself and makes it read-only
// (with nosuid, nodev and noexec).
func readonlyPaths(paths []string) error {
	const ro = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	return eachInRoot(paths, "readonly path", func(root *os.File, p string, f *os.File) error {
		if err := bindFd(int(f.Fd()), int(f.Fd()), ro); err != errNoMountAPI {
			return err
		}
		if err := unix.Mount(fdPath(f), fdPath(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		// The bind sits on top of what f refers to: reopen p to reach it.
		g, err := openInRoot(root, p)
		if err != nil {
			return err
		}
		defer g.Close()
		return remountPath(fdPath(g), ro)
	})
}
