package spec

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Opt changes a spec; the containerd pkg/oci SpecOpts shape without the
// client arguments, so each builder is a pure function that tests can call
// on a bare spec.
type Opt func(*specs.Spec) error

// Compose applies opts in order, stopping at the first error.
func Compose(opts ...Opt) Opt {
	return func(s *specs.Spec) error {
		for _, o := range opts {
			if err := o(s); err != nil {
				return err
			}
		}
		return nil
	}
}

func process(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	return s.Process
}

func linux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

func resources(s *specs.Spec) *specs.LinuxResources {
	l := linux(s)
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	return l.Resources
}

// WithCaps sets all five capability sets.
func WithCaps(c *specs.LinuxCapabilities) Opt {
	return func(s *specs.Spec) error {
		cp := *c
		process(s).Capabilities = &cp
		return nil
	}
}

// WithNamespaces replaces the namespace list. Host namespaces are simply
// absent, as the runtime spec defines.
func WithNamespaces(ns []specs.LinuxNamespace) Opt {
	return func(s *specs.Spec) error {
		linux(s).Namespaces = slices.Clone(ns)
		return nil
	}
}

// WithMounts adds mounts; a mount whose destination is already present
// replaces the earlier one in place, so user mounts override defaults.
func WithMounts(ms []specs.Mount) Opt {
	return func(s *specs.Spec) error {
		for _, m := range ms {
			i := slices.IndexFunc(s.Mounts, func(x specs.Mount) bool { return x.Destination == m.Destination })
			if i >= 0 {
				s.Mounts[i] = m
			} else {
				s.Mounts = append(s.Mounts, m)
			}
		}
		return nil
	}
}

// WithSeccomp sets (or with nil, removes) the seccomp filter.
func WithSeccomp(sc *specs.LinuxSeccomp) Opt {
	return func(s *specs.Spec) error {
		linux(s).Seccomp = sc
		return nil
	}
}

// WithLabel sets the SELinux process and mount labels (empty: none).
func WithLabel(processLabel, mountLabel string) Opt {
	return func(s *specs.Spec) error {
		process(s).SelinuxLabel = processLabel
		linux(s).MountLabel = mountLabel
		return nil
	}
}

// WithMaskedPaths sets the masked and read-only /proc and /sys paths.
func WithMaskedPaths(masked, readonly []string) Opt {
	return func(s *specs.Spec) error {
		l := linux(s)
		l.MaskedPaths = slices.Clone(masked)
		l.ReadonlyPaths = slices.Clone(readonly)
		return nil
	}
}

// WithDevices adds device nodes and device-cgroup rules.
func WithDevices(devs []specs.LinuxDevice, rules []specs.LinuxDeviceCgroup) Opt {
	return func(s *specs.Spec) error {
		l := linux(s)
		for _, d := range devs {
			if !slices.ContainsFunc(l.Devices, func(x specs.LinuxDevice) bool { return x.Path == d.Path }) {
				l.Devices = append(l.Devices, d)
			}
		}
		r := resources(s)
		r.Devices = append(r.Devices, rules...)
		return nil
	}
}

// WithNoNewPrivileges sets process.noNewPrivileges.
func WithNoNewPrivileges(on bool) Opt {
	return func(s *specs.Spec) error {
		process(s).NoNewPrivileges = on
		return nil
	}
}

// WithRootReadonly sets root.readonly.
func WithRootReadonly(ro bool) Opt {
	return func(s *specs.Spec) error {
		if s.Root == nil {
			s.Root = &specs.Root{}
		}
		s.Root.Readonly = ro
		return nil
	}
}

// WithProcess sets the command, environment and working directory.
func WithProcess(args, env []string, cwd string, terminal bool) Opt {
	return func(s *specs.Spec) error {
		p := process(s)
		p.Args, p.Env, p.Cwd, p.Terminal = slices.Clone(args), slices.Clone(env), cwd, terminal
		return nil
	}
}

// WithUser sets the process user.
func WithUser(u specs.User) Opt {
	return func(s *specs.Spec) error {
		process(s).User = u
		return nil
	}
}

// WithHostname sets the host name (only meaningful with a private UTS ns).
func WithHostname(h string) Opt {
	return func(s *specs.Spec) error {
		s.Hostname = h
		return nil
	}
}

// WithRlimits sets process rlimits.
func WithRlimits(r []specs.POSIXRlimit) Opt {
	return func(s *specs.Spec) error {
		process(s).Rlimits = slices.Clone(r)
		return nil
	}
}

// WithSysctls sets linux.sysctl.
func WithSysctls(m map[string]string) Opt {
	return func(s *specs.Spec) error {
		if len(m) == 0 {
			return nil
		}
		l := linux(s)
		if l.Sysctl == nil {
			l.Sysctl = map[string]string{}
		}
		for k, v := range m {
			l.Sysctl[k] = v
		}
		return nil
	}
}

// WithMemory sets a memory limit in bytes (0: none).
func WithMemory(limit int64) Opt {
	return func(s *specs.Spec) error {
		if limit > 0 {
			resources(s).Memory = &specs.LinuxMemory{Limit: &limit}
		}
		return nil
	}
}

// WithPidsLimit sets the pids cgroup limit (<=0: none).
func WithPidsLimit(n int64) Opt {
	return func(s *specs.Spec) error {
		if n > 0 {
			resources(s).Pids = &specs.LinuxPids{Limit: &n}
		}
		return nil
	}
}

// WithCPUQuota sets a CFS quota and period (0: none).
func WithCPUQuota(quota int64, period uint64) Opt {
	return func(s *specs.Spec) error {
		if quota > 0 {
			resources(s).CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
		}
		return nil
	}
}

// WithAnnotations merges annotations.
func WithAnnotations(a map[string]string) Opt {
	return func(s *specs.Spec) error {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		for k, v := range a {
			s.Annotations[k] = v
		}
		return nil
	}
}
