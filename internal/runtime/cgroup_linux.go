package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	devcfg "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func init() {
	// The v1 devices controller is two files; writing them directly keeps
	// the runtime free of the eBPF and D-Bus code the devices package pulls in.
	cgroups.DevicesSetV1 = setDevicesV1
}

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
	return filepath.Clean(p), nil
}

type cgroupManager interface {
	Apply(pid int) error
	Set(r *cgroups.Resources) error
	Destroy() error
	GetAllPids() ([]int, error)
	GetPaths() map[string]string
	Freeze(cgroups.FreezerState) error
	GetFreezerState() (cgroups.FreezerState, error)
	OOMKillCount() (uint64, error)
	Path(string) string
}

func newCgroupManager(path string, s *specs.Spec) (cgroupManager, *cgroups.Resources, error) {
	res, err := convertResources(s)
	if err != nil {
		return nil, nil, err
	}
	cg := &cgroups.Cgroup{Path: path, Resources: res}
	if cgroups.IsCgroup2UnifiedMode() {
		m, err := fs2.NewManager(cg, filepath.Join("/sys/fs/cgroup", path))
		return m, res, err
	}
	m, err := fs.NewManager(cg, nil)
	return m, res, err
}

// managerFromState rebuilds a manager for an existing container's cgroups.
func managerFromState(cs *CgroupState) (cgroupManager, error) {
	cg := &cgroups.Cgroup{Path: cs.Path, Resources: &cgroups.Resources{SkipDevices: true}}
	if cs.V2 != "" && len(cs.Paths) == 0 {
		return fs2.NewManager(cg, cs.V2)
	}
	return fs.NewManager(cg, cs.Paths)
}

func cgroupState(path string, m cgroupManager) *CgroupState {
	cs := &CgroupState{Path: path}
	if cgroups.IsCgroup2UnifiedMode() {
		cs.V2 = m.Path("")
	} else {
		cs.Paths = m.GetPaths()
		cs.V2 = cs.Paths[""]
	}
	return cs
}

func convertResources(s *specs.Spec) (*cgroups.Resources, error) {
	res := &cgroups.Resources{}
	if s.Linux == nil || s.Linux.Resources == nil {
		res.SkipDevices = true
		return res, nil
	}
	r := s.Linux.Resources
	if m := r.Memory; m != nil {
		if m.Limit != nil {
			res.Memory = *m.Limit
		}
		if m.Reservation != nil {
			res.MemoryReservation = *m.Reservation
		}
		if m.Swap != nil {
			res.MemorySwap = *m.Swap
		}
		if m.Swappiness != nil {
			v := *m.Swappiness
			res.MemorySwappiness = &v
		}
		if m.DisableOOMKiller != nil {
			res.OomKillDisable = *m.DisableOOMKiller
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		v := *p.Limit
		res.PidsLimit = &v
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil {
			res.CpuShares = *c.Shares
		}
		if c.Quota != nil {
			res.CpuQuota = *c.Quota
		}
		if c.Period != nil {
			res.CpuPeriod = *c.Period
		}
		if c.RealtimeRuntime != nil {
			res.CpuRtRuntime = *c.RealtimeRuntime
		}
		if c.RealtimePeriod != nil {
			res.CpuRtPeriod = *c.RealtimePeriod
		}
		res.CpusetCpus = c.Cpus
		res.CpusetMems = c.Mems
		res.CPUIdle = c.Idle
		res.CpuBurst = c.Burst
	}
	if b := r.BlockIO; b != nil && b.Weight != nil {
		res.BlkioWeight = *b.Weight
	}
	if len(r.Unified) > 0 {
		if !cgroups.IsCgroup2UnifiedMode() {
			return nil, errors.New("linux.resources.unified needs a cgroup v2 host")
		}
		res.Unified = r.Unified
	}
	for _, d := range r.Devices {
		rule := &devcfg.Rule{Type: 'a', Major: devcfg.Wildcard, Minor: devcfg.Wildcard, Permissions: devcfg.Permissions(d.Access), Allow: d.Allow}
		if d.Type != "" {
			rule.Type = devcfg.Type(d.Type[0])
		}
		if !rule.Type.IsValid() {
			return nil, fmt.Errorf("linux.resources.devices: unknown type %q", d.Type)
		}
		if d.Major != nil {
			rule.Major = *d.Major
		}
		if d.Minor != nil {
			rule.Minor = *d.Minor
		}
		if rule.Permissions == "" {
			rule.Permissions = "rwm"
		}
		if !rule.Permissions.IsValid() {
			return nil, fmt.Errorf("linux.resources.devices: bad access %q", d.Access)
		}
		res.Devices = append(res.Devices, rule)
	}
	if len(res.Devices) == 0 {
		res.SkipDevices = true
	} else {
		// Like runc, the devices every container needs stay usable
		// whatever the rules say before them.
		for _, d := range defaultDevices {
			res.Devices = append(res.Devices, &devcfg.Rule{Type: 'c', Major: d.major, Minor: d.minor, Permissions: "rwm", Allow: true})
		}
		res.Devices = append(res.Devices,
			&devcfg.Rule{Type: 'c', Major: 5, Minor: 2, Permissions: "rwm", Allow: true},                 // /dev/ptmx
			&devcfg.Rule{Type: 'c', Major: 136, Minor: devcfg.Wildcard, Permissions: "rwm", Allow: true}, // /dev/pts/*
		)
	}
	return res, nil
}

func setDevicesV1(path string, r *cgroups.Resources) error {
	for _, d := range r.Devices {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		if err := os.WriteFile(filepath.Join(path, file), []byte(d.CgroupString()), 0); err != nil {
			return fmt.Errorf("device rule %q: %w", d.CgroupString(), err)
		}
	}
	return nil
}

// killCgroup SIGKILLs every process in the cgroup until it is empty. If
// any are left after the first round, the freezer holds the rest still so
// nothing can fork away while the list is read again.
func killCgroup(m cgroupManager) error {
	frozen := false
	defer func() {
		if frozen {
			_ = m.Freeze(cgroups.Thawed)
		}
	}()
	for i := 0; i < 500; i++ {
		pids, err := m.GetAllPids()
		if err != nil || len(pids) == 0 {
			return nil
		}
		if i == 1 {
			_ = m.Freeze(cgroups.Frozen)
			frozen = true
		}
		for _, p := range pids {
			_ = killPid(p, 9)
		}
		if frozen {
			_ = m.Freeze(cgroups.Thawed) // killed tasks must run to die
			frozen = false
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("processes in the container's cgroup would not die")
}
