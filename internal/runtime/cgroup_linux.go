package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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

// startInCgroup starts cmd (through startIn) with its child born in the
// container's unified-hierarchy cgroup: clone3 with CLONE_INTO_CGROUP
// migrates nothing, so it costs none of the RCU grace period a
// cgroup.procs write does. (The v1 hierarchies the child joins itself,
// see cgroup.JoinSelf.) Kernels before 5.7 refuse the flag (EINVAL or
// E2BIG for clone3's larger argument, ENOSYS without clone3): the child is
// then started without it and moved in afterwards.
func startInCgroup(cmd *initProc, m *cgroup.Manager, join []specs.LinuxNamespace, newTime bool, offsets map[string]specs.LinuxTimeOffset) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	var dir *os.File
	if m != nil {
		var err error
		if dir, err = m.OpenV2(); err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
	}
	if dir == nil {
		return startIn(cmd, join, newTime, offsets)
	}
	defer dir.Close() // kept open (and alive) until the clone is done
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	var err error = unix.ENOSYS // what a kernel before clone3 answers
	if !testOldKernel {
		err = startIn(cmd, join, newTime, offsets)
	}
	if err == nil || !(errors.Is(err, unix.EINVAL) || errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSYS)) {
		return err
	}
	cmd.SysProcAttr.UseCgroupFD = false
	if err := startIn(cmd, join, newTime, offsets); err != nil {
		return err
	}
	if err := m.Join(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return fmt.Errorf("cgroups: %w", err)
	}
	return nil
}

// testOldKernel makes the runtime act as on a kernel without
// CLONE_INTO_CGROUP (startInCgroup) and the init as on one without the new
// mount API (cloneTree), so the integration tests can check the fallbacks.
var testOldKernel bool

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
