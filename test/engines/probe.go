// Package engines runs brig-runtime under real container engines, podman
// (through conmon) and containerd (through containerd-shim-runc-v2), and
// compares what the container sees with runc on the same case.
//
// The tests are behind the build tag `integration` (root, Debian's podman,
// containerd, runc, crun, util-linux):
//
//	go test -tags integration -count=1 -v ./test/engines/
//
// This file holds the parts that need no root: the probe run inside the
// container and the parser of its output.
package engines

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Probe is the shell script every capability case runs in the container:
// the credential, capability and seccomp lines of /proc/self/status, the
// namespace identities, whether / can be written to, and the open fds of a
// child (ls: 0-2 inherited plus its own directory fd 3; anything more is
// a leaked runtime or engine fd, CVE-2024-21626).
const Probe = `grep -E '^(Uid|Gid|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
for n in pid net ipc uts mnt; do echo "ns_$n: $(readlink /proc/self/ns/$n)"; done
if touch /probe 2>/dev/null; then echo "write_root: yes"; else echo "write_root: no"; fi
echo "fds: $(ls /proc/self/fd | tr '\n' ' ')"`

// Report is a parsed probe output: "Key: value" lines, tabs or spaces.
type Report map[string]string

// ParseReport reads "Key: value" lines. Blank lines and carriage returns
// (a pty's line endings) are ignored; any other line is an error.
func ParseReport(s string) (Report, error) {
	r := Report{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("probe output line %d: want \"Key: value\", got %q", n, line)
		}
		if _, dup := r[k]; dup {
			return nil, fmt.Errorf("probe output line %d: %s repeated", n, k)
		}
		r[k] = strings.TrimSpace(v)
	}
	return r, sc.Err()
}

// Mask returns a capability line (CapEff, CapBnd, ...) as a number.
func (r Report) Mask(key string) (uint64, error) {
	v, ok := r[key]
	if !ok {
		return 0, fmt.Errorf("%s missing from the probe output", key)
	}
	m, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a hex mask", key, v)
	}
	return m, nil
}

// Diff lists the keys whose values differ between a and b, skipping the
// ones in ignore, as "key: a != b".
func Diff(a, b Report, ignore ...string) []string {
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range []Report{a, b} {
		for k := range m {
			if seen[k] || skip[k] {
				continue
			}
			seen[k] = true
			if a[k] != b[k] {
				out = append(out, fmt.Sprintf("%s: %q != %q", k, a[k], b[k]))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Mount is one line of /proc/self/mountinfo: where, what filesystem, and
// the per-mount options (ro, nosuid, ...).
type Mount struct {
	Point, FSType string
	Options       map[string]bool
}

// ParseMountinfo reads /proc/self/mountinfo (proc(5)): field 5 is the
// mount point, field 6 the mount options, and the filesystem type
// follows the "-" separator.
func ParseMountinfo(s string) ([]Mount, error) {
	var out []Mount
	for n, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+1 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: %q is not a mountinfo entry", n+1, line)
		}
		opts := map[string]bool{}
		for _, o := range strings.Split(f[5], ",") {
			opts[o] = true
		}
		out = append(out, Mount{Point: f[4], FSType: f[sep+1], Options: opts})
	}
	return out, nil
}

// MountDiff compares two containers' mount tables: mount points (with
// their filesystem type) present in only one of them, and mount points
// read-only in want but writable in got.
func MountDiff(got, want []Mount) []string {
	count := map[string]int{}
	for _, m := range got {
		count[m.Point+" "+m.FSType]++
	}
	for _, m := range want {
		count[m.Point+" "+m.FSType]--
	}
	var out []string
	for k, c := range count {
		switch {
		case c > 0:
			out = append(out, "extra mount "+k)
		case c < 0:
			out = append(out, "missing mount "+k)
		}
	}
	top := map[string]Mount{}
	for _, m := range got {
		top[m.Point] = m // the last one listed is the visible one
	}
	for _, m := range want {
		if g, ok := top[m.Point]; ok && m.Options["ro"] && !g.Options["ro"] {
			out = append(out, "writable mount "+m.Point+" (read-only in the reference)")
		}
	}
	sort.Strings(out)
	return out
}
