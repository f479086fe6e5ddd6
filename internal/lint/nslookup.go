package lint

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/brigrt/brig/internal/procscan"
)

var nsPath = regexp.MustCompile(`^/proc/([0-9]+)/ns/[a-z_]+$`)

// NamespaceLookup resolves OCI namespace paths of the form
// /proc/PID/ns/TYPE by looking at the live process that owns them (proc
// is the proc root, "" for /proc). The process counts as privileged when
// it holds every capability of the host's bounding set (pid 1's) and runs
// without seccomp, which is what --privileged leaves behind. Other refs
// are not found, so it can be chained after a container store lookup.
func NamespaceLookup(proc string) func(ref string) (*Container, bool) {
	if proc == "" {
		proc = "/proc"
	}
	return func(ref string) (*Container, bool) {
		m := nsPath.FindStringSubmatch(ref)
		if m == nil {
			return nil, false
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, false
		}
		p, err := procscan.Read(proc, pid, false)
		if err != nil {
			return nil, false
		}
		host, err := procscan.Read(proc, 1, false)
		if err != nil {
			return nil, false
		}
		return &Container{
			Name:       fmt.Sprintf("pid %d (%s)", pid, p.Comm),
			Privileged: p.Bnd&host.Bnd == host.Bnd && p.Eff&host.Bnd == host.Bnd && p.Seccomp == 0,
		}, true
	}
}
