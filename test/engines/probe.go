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
// namespace identities, and whether / can be written to.
const Probe = `grep -E '^(Uid|Gid|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
for n in pid net ipc uts mnt; do echo "ns_$n: $(readlink /proc/self/ns/$n)"; done
if touch /probe 2>/dev/null; then echo "write_root: yes"; else echo "write_root: no"; fi`

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
