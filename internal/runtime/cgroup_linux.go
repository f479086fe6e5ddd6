package runtime

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupPath is the container's cgroup path: the spec's cgroupsPath or a
// default under /brig-runtime. systemd's slice:prefix:name form is refused.
func cgroupPath(id string, s *specs.Spec) (string, error) {
	p := ""
	if s.Linux != nil {
		p = s.Linux.CgroupsPath
	}
	if p == "" {
		return "/brig-runtime/" + id, nil
	}
	if strings.Count(p, ":") == 2 && !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("cgroupsPath %q is in systemd's slice:prefix:name form; brig-runtime manages cgroupfs directly and does not support --systemd-cgroup", p)
	}
	if !filepath.IsAbs(p) {
		// runc nests a relative path under the runtime's own cgroup; brig
		// keeps it simple and places it under the hierarchy root.
		p = "/" + p
	}
	p = filepath.Clean(p)
	if p == "/" {
		return "", errors.New("cgroupsPath must not be the root cgroup")
	}
	return p, nil
}

// intoCgroup has cmd's child born in the container's unified-hierarchy
// cgroup (clone3 with CLONE_INTO_CGROUP): no migration, so none of the
// RCU grace period a cgroup.procs write costs. The fd is the child's
// business only at clone time; Go closes nothing of ours, so it is left
// open until this process exits (a short-lived CLI).
func intoCgroup(cmd *exec.Cmd, m *cgroup.Manager) error {
	f, err := m.OpenV2()
	if err != nil || f == nil {
		return err
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(f.Fd())
	return nil
}

// killCgroup SIGKILLs every process in the cgroup until it is empty. If
// any are left after the first round, the freezer holds the rest still so
// nothing can fork away while the list is read again.
func killCgroup(m *cgroup.Manager) error {
	for i := 0; i < 500; i++ {
		pids, err := m.Pids()
		if err != nil || len(pids) == 0 {
			return nil
		}
		frozen := i > 0 && m.Freeze(true) == nil
		for _, p := range pids {
			_ = killPid(p, 9)
		}
		if frozen {
			_ = m.Freeze(false) // killed tasks must run to die
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("processes in the container's cgroup would not die")
}
