package procscan

import (
	"os"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// CgroupMounts lists the mount points of the cgroup hierarchies (v1 and v2)
// visible to us, each with the hierarchy path its mount shows.
func CgroupMounts() ([]Mount, error) {
	infos, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	var out []Mount
	seen := map[string]bool{}
	for _, m := range infos {
		// The same hierarchy can be mounted twice; walk it once.
		key := m.Source + "\x00" + m.Root + "\x00" + m.VFSOptions + m.FSType
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Mount{Dir: m.Mountpoint, Root: m.Root})
	}
	return out, nil
}

// WalkCgroups visits every cgroup directory under the given mounts and, for
// each one where match accepts the cgroup path, passes the pids listed in
// its cgroup.procs to fn. Paths are as /proc/PID/cgroup shows them (the
// mount's root joined with the directory below the mount point). It reads
// one small file per matching cgroup instead of /proc/PID/cgroup per
// process, which is what keeps "brig caps" fast on busy hosts.
// Unreadable or vanished directories are skipped.
func WalkCgroups(mounts []Mount, match func(cgPath string) bool, fn func(cgPath string, pids []int)) {
	var walk func(dir, cg string)
	walk = func(dir, cg string) {
		f, err := os.Open(dir)
		if err != nil {
			return
		}
		ents, _ := f.ReadDir(-1)
		f.Close()
		if match(cg) {
			if b, err := os.ReadFile(dir + "/cgroup.procs"); err == nil {
				if pids := parsePIDList(b); len(pids) > 0 {
					fn(cg, pids)
				}
			}
		}
		for _, e := range ents {
			if e.IsDir() {
				walk(dir+"/"+e.Name(), path.Join(cg, e.Name()))
			}
		}
	}
	for _, m := range mounts {
		root := m.Root
		if root == "" || !strings.HasPrefix(root, "/") {
			root = "/"
		}
		walk(m.Dir, root)
	}
}
