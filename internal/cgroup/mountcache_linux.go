package cgroup

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/rawio"
	"golang.org/x/sys/unix"
)

// The v1 hierarchies' mount points come from mountinfo, whose reading
// costs the kernel a formatted line per mount: about a tenth of a
// millisecond on every container's create, for a table that hardly
// ever changes. NewCached keeps what it found in a small file and
// trusts it again only while the kernel confirms it, for a fraction of
// that cost:
//
//   - the hierarchies in /proc/self/cgroup (id and controllers, not the
//     process's own paths) are the ones listed then, so none was mounted
//     or unmounted since;
//   - each mount point is still the very same mount: statx gives its
//     unique mount id (Linux 6.8), which the kernel never reuses. A
//     remount keeps it but cannot change a hierarchy's controllers; an
//     unmount or a mount on top changes it.
//
// Anything else (no unique mount ids, an unreadable or foreign file, a
// mismatch) reads mountinfo as before and writes the file anew.

const cacheMagic = "brig cgroup mounts 1"

// NewCached is New, with the mount table kept in the file cache between
// calls (see above). An empty cache is New.
func NewCached(path, cache string) (*Manager, error) {
	return newManager(path, func() ([]mount, error) { return cachedMounts(cache) })
}

func cachedMounts(cache string) ([]mount, error) {
	if cache == "" {
		return v1Mounts()
	}
	hier, err := hierarchies()
	if err != nil {
		return v1Mounts()
	}
	if data, err := rawio.ReadFile(cache, 1024); err == nil {
		if mounts, ids, ok := parseCache(data, hier); ok && sameMounts(mounts, ids) {
			return mounts, nil
		}
	}
	mounts, err := v1Mounts()
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(mounts))
	for i, m := range mounts {
		id, ok := mountID(m.point)
		if !ok || strings.ContainsAny(m.point, " \t\n") {
			return mounts, nil // nothing that could be checked later
		}
		ids[i] = id
	}
	// Best effort: a failed write costs the next call the slow way.
	_ = rawio.WriteFileAtomic(cache, formatCache(hier, mounts, ids), 0o600)
	return mounts, nil
}

// hierarchies is /proc/self/cgroup without the process's own paths:
// "ID:controllers" for each hierarchy, in the kernel's order.
func hierarchies() (string, error) {
	data, err := rawio.ReadFile("/proc/self/cgroup", 512)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte{'\n'}) {
		id, rest, ok := bytes.Cut(line, []byte{':'})
		ctl, _, ok2 := bytes.Cut(rest, []byte{':'})
		if !ok || !ok2 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.Write(id)
		b.WriteByte(':')
		b.Write(ctl)
	}
	return b.String(), nil
}

// mountID is the unique id of the mount at point, if this kernel has them.
func mountID(point string) (uint64, bool) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, point, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil {
		return 0, false
	}
	return stx.Mnt_id, stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0
}

func sameMounts(mounts []mount, ids []uint64) bool {
	for i, m := range mounts {
		if id, ok := mountID(m.point); !ok || id != ids[i] {
			return false
		}
	}
	return true
}

// The file: the magic line, the hierarchies line, then one line per
// mount: "ID POINT v2" or "ID POINT v1 CONTROLLER,...".
func formatCache(hier string, mounts []mount, ids []uint64) []byte {
	var b strings.Builder
	b.WriteString(cacheMagic + "\n" + hier + "\n")
	for i, m := range mounts {
		b.WriteString(strconv.FormatUint(ids[i], 10) + " " + m.point)
		if m.v2 {
			b.WriteString(" v2\n")
		} else {
			b.WriteString(" v1 " + strings.Join(m.subsystems, ",") + "\n")
		}
	}
	return []byte(b.String())
}

// parseCache returns the mounts of a cache written for the same
// hierarchies; ok is false for anything else, including a file that is
// not one this package wrote.
func parseCache(data []byte, hier string) (mounts []mount, ids []uint64, ok bool) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 3 || lines[0] != cacheMagic || lines[1] != hier || lines[len(lines)-1] != "" {
		return nil, nil, false
	}
	for _, l := range lines[2 : len(lines)-1] {
		f := strings.Split(l, " ")
		if len(f) < 3 {
			return nil, nil, false
		}
		id, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || !strings.HasPrefix(f[1], Root+"/") {
			return nil, nil, false
		}
		m := mount{point: f[1]}
		switch {
		case len(f) == 3 && f[2] == "v2":
			m.v2 = true
		case len(f) == 4 && f[2] == "v1" && f[3] != "":
			m.subsystems = strings.Split(f[3], ",")
		default:
			return nil, nil, false
		}
		mounts = append(mounts, m)
		ids = append(ids, id)
	}
	return mounts, ids, true
}
