package spec

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/label"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HostBounding reads this process's capability bounding set (CapBnd), which
// is what a --privileged container can get at most.
func HostBounding() (caps.Set, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			return caps.ParseHex(strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapBnd line in /proc/self/status")
}

// skipDirs are /dev subtrees that are not host devices to hand to a
// privileged container (its own devpts, shm and mqueue are mounted fresh),
// the same list runc's device scan uses.
var skipDirs = map[string]bool{"pts": true, "shm": true, "fd": true, "mqueue": true, ".lxc": true, ".lxd-mounts": true, ".udev": true}

// HostDevices lists every character and block device under /dev.
func HostDevices() ([]specs.LinuxDevice, error) { return devicesUnder("/dev", true) }

// DeviceInfo describes a host device, or every device below a directory.
func DeviceInfo(p string) ([]specs.LinuxDevice, error) { return devicesUnder(p, false) }

func devicesUnder(root string, top bool) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		d, err := device(root)
		if err != nil {
			return nil, err
		}
		return []specs.LinuxDevice{d}, nil
	}
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil // devices come and go; unreadable dirs are skipped
			}
			return err
		}
		if e.IsDir() {
			if top && p != root && skipDirs[e.Name()] && filepath.Dir(p) == root {
				return filepath.SkipDir
			}
			return nil
		}
		if top && p == "/dev/console" {
			return nil // the runtime provides the container's own console
		}
		if e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		d, err := device(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func device(p string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return specs.LinuxDevice{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	var t string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		t = "c"
	case unix.S_IFBLK:
		t = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device", p)
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: p, Type: t,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// HostEnv fills the host facts of an Env from this machine: bounding set,
// devices, host name, SELinux state and base labels, cgroup version and CPU
// count. The lifecycle adds the per-container parts (ID, Rootfs, Resolve,
// TranslateLevel, MCS/MCSExact, Seccomp, InitPath, /etc files).
func HostEnv() (Env, error) {
	var env Env
	var err error
	if env.Bounding, err = HostBounding(); err != nil {
		return env, fmt.Errorf("reading the bounding set: %w", err)
	}
	env.Devices = HostDevices
	env.DeviceInfo = DeviceInfo
	env.Hostname, _ = os.Hostname()
	env.SELinux = label.Enabled()
	d, err := label.LoadDefaults(label.PolicyRoot("/etc/selinux"))
	if err != nil {
		return env, err
	}
	env.LabelDefaults = &d
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		env.CgroupV2 = true
	}
	env.NumCPU = runtime.NumCPU()
	return env, nil
}
