package spec

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/label"
	"github.com/brigrt/brig/internal/landlock"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ImageConfig is the part of an image's config that shapes the process.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
}

// ContainerInfo describes an existing container named by --X=container:NAME.
type ContainerInfo struct {
	ID           string
	Pid          int // init pid on the host
	Running      bool
	Privileged   bool
	ProcessLabel string // its SELinux process label ("" if none)
	ShmPath      string // host path of its /dev/shm, for --ipc=container:
	// NSPaths overrides /proc/PID/ns/X for a namespace type (e.g. a bind-mounted ns file).
	NSPaths map[specs.LinuxNamespaceType]string
}

// Env carries the host facts Build depends on, injected for testability.
// The lifecycle fills it from the real host (see HostBounding, HostDevices,
// DeviceInfo, label.Reserve).
type Env struct {
	ID       string // container id; its first 12 characters are the default host name
	Rootfs   string // root.path; also where /etc/passwd and /etc/group are read
	Hostname string // the host's name, used with --network=host

	// Bounding is the host's capability bounding set (CapBnd of this
	// process); 0 means unknown and then caps.Full() is assumed. --privileged
	// gets exactly this set; other containers lose caps the host lacks.
	Bounding caps.Set
	// DefaultCaps overrides Docker's 14 (from the config file); nil = caps.DockerDefault.
	DefaultCaps []string

	// Devices lists every host device, for --privileged.
	Devices func() ([]specs.LinuxDevice, error)
	// DeviceInfo describes one host device path (a directory gives all
	// devices below it), for --device.
	DeviceInfo func(hostPath string) ([]specs.LinuxDevice, error)

	// Resolve finds a container for container:NAME.
	Resolve func(name string) (ContainerInfo, error)

	// SELinux reports whether the host enforces labels; when false the label
	// is computed and recorded but not put in the spec.
	SELinux bool
	// LabelDefaults are the base labels when SELinux is off (nil: label.Builtin).
	LabelDefaults *label.Defaults
	// TranslateLevel maps a setrans.conf name (TopSecret) to a raw level.
	TranslateLevel func(string) (string, error)
	// MCS reserves a unique random level for this container (label.Reserve);
	// MCSExact records a user-chosen level (label.ReserveExact). nil: no
	// reservation (the label then has level s0 when SELinux is off; with
	// SELinux on, MCS is required).
	MCS      func() (string, error)
	MCSExact func(level string) error

	// Seccomp resolves a Docker-format profile ("" = Docker's default) for
	// the container's bounding capabilities.
	Seccomp func(profilePath string, caps []string) (*specs.LinuxSeccomp, error)

	// InitPath is the host path of the init bind-mounted at /dev/init for --init.
	InitPath string
	// CgroupV2 makes the cgroup namespace private by default (Docker's rule:
	// private on v2, host on v1).
	CgroupV2 bool
	// NumCPU bounds --cpus (0: unchecked).
	NumCPU int

	// EtcHosts, EtcHostname and ResolvConf are host files the lifecycle
	// wrote for this container; when set they are bind-mounted.
	EtcHosts, EtcHostname, ResolvConf string
	// ShmPath is a host directory for the container's private /dev/shm; when
	// empty a tmpfs is mounted instead.
	ShmPath string
}

// Annotation keys recording the effective security decisions, for inspect.
const (
	AnnPrivileged = "run.brig.privileged"
	AnnCaps       = "run.brig.caps"    // diff from the default set, e.g. "+sys_time, -setuid"
	AnnAmbient    = "run.brig.ambient" // caps granted to a non-root user
	AnnSeccomp    = "run.brig.seccomp"
	AnnNNP        = "run.brig.no-new-privileges"
	AnnLabel      = "run.brig.label"       // process label (applied or would be)
	AnnMountLabel = "run.brig.mount-label" // mount label (applied or would be)
	AnnLabelState = "run.brig.label.state" // applied | not applied: ... | disabled: reason
	AnnLabelOpts  = "run.brig.label.opts"  // label options as given
	AnnReadOnly   = "run.brig.read-only"
	AnnLandlock   = "run.brig.landlock"
	AnnInit       = "run.brig.init"
	AnnUser       = "run.brig.user"
	AnnNSPrefix   = "run.brig.ns." // + pid, network, ipc, uts, cgroup: private|host|none|container:ID
)

// MaskedPaths and ReadonlyPaths are podman's defaults (containers/common),
// plus /sys/devices/virtual/powercap which Docker and newer podman mask
// (CVE-2020-8694: RAPL power readings leak secrets).
var (
	MaskedPaths = []string{
		"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/fs/selinux", "/sys/dev/block", "/sys/devices/virtual/powercap",
	}
	ReadonlyPaths = []string{
		"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// DefaultPath is docker's PATH when the image sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build validates o and renders the spec. It returns warnings for the caller
// to print (e.g. a label on a host without SELinux). If Env.MCS or MCSExact
// reserved a level and Build then fails, the caller should release it
// (label.Release is idempotent, so releasing unconditionally is fine); the
// reservation is made as late as possible to make that rare.
func Build(o *Options, img ImageConfig, env Env) (*specs.Spec, []string, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	p := o.Parsed
	var warn []string
	ann := map[string]string{}

	// Containers named by container:NAME must exist and run.
	targets := map[string]ContainerInfo{}
	for _, m := range []NSMode{p.NS.PID, p.NS.Net, p.NS.IPC, p.NS.UTS, p.NS.Cgroup} {
		if m.Mode != "container" || targets[m.Container].ID != "" {
			continue
		}
		if env.Resolve == nil {
			return nil, nil, fmt.Errorf("container:%s: no container lookup available", m.Container)
		}
		ci, err := env.Resolve(m.Container)
		if err != nil {
			return nil, nil, fmt.Errorf("container:%s: %w", m.Container, err)
		}
		if ci.ID == "" {
			ci.ID = m.Container
		}
		if !ci.Running || ci.Pid <= 0 {
			return nil, nil, fmt.Errorf("container:%s: container %s is not running; start it first", m.Container, ci.ID)
		}
		targets[m.Container] = ci
	}

	// User and process.
	userSpec := o.User
	if userSpec == "" {
		userSpec = img.User
	}
	u, home, err := resolveUser(env.Rootfs, userSpec)
	if err != nil {
		return nil, nil, err
	}
	args, err := processArgs(o, img)
	if err != nil {
		return nil, nil, err
	}
	cwd := img.WorkingDir
	if o.Workdir != "" {
		cwd = o.Workdir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, nil, fmt.Errorf("the image's working directory %q is not absolute", cwd)
	}

	// Capabilities.
	c, cw, err := Capabilities(CapRequest{
		Default: env.DefaultCaps, Add: o.CapAdd, Drop: o.CapDrop,
		Privileged: o.Privileged, Host: env.Bounding, Root: u.UID == 0,
	})
	if err != nil {
		return nil, nil, err
	}
	warn = append(warn, cw...)
	ann[AnnPrivileged] = strconv.FormatBool(o.Privileged)
	if d := capsDiff(env.DefaultCaps, c.Bounding); d != "" {
		ann[AnnCaps] = d
	}
	if len(c.Ambient) > 0 {
		ann[AnnAmbient] = strings.Join(c.Ambient, ",")
	}

	// Namespaces.
	ns, nsAnn, err := namespaces(p.NS, targets, env.CgroupV2)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range nsAnn {
		ann[AnnNSPrefix+k] = v
	}

	ann[AnnNNP] = strconv.FormatBool(p.Security.NoNewPrivileges)
	var ll landlock.Rules
	if p.Security.Landlock != "" {
		if ll, err = landlock.Parse(p.Security.Landlock); err != nil {
			return nil, nil, fmt.Errorf("--security-opt landlock=%s: %w", p.Security.Landlock, err)
		}
		// The runtime reads the rules from this annotation (JSON).
		ann[AnnLandlock] = ll.Annotation()
	}
	ann[AnnReadOnly] = strconv.FormatBool(o.ReadOnly)
	if o.User != "" {
		ann[AnnUser] = o.User
	}

	// Environment and host name.
	hostname := ""
	switch {
	case p.NS.UTS.Mode == "host":
		hostname = env.Hostname
	case o.Hostname != "":
		hostname = o.Hostname
	case p.NS.Net.IsHost() && p.NS.UTS.Mode == "":
		hostname = env.Hostname // docker: --network=host keeps the host's name
	default:
		hostname = env.ID
		if len(hostname) > 12 {
			hostname = hostname[:12]
		}
	}
	procEnv := mergeEnv(img.Env, p.Env)
	if !hasEnv(procEnv, "PATH") {
		procEnv = append([]string{DefaultPath}, procEnv...)
	}
	if o.TTY && !hasEnv(procEnv, "TERM") {
		procEnv = append(procEnv, "TERM=xterm")
	}
	if hostname != "" && !hasEnv(procEnv, "HOSTNAME") {
		procEnv = append(procEnv, "HOSTNAME="+hostname)
	}
	if home != "" && !hasEnv(procEnv, "HOME") {
		procEnv = append(procEnv, "HOME="+home)
	}

	// Init.
	var initMount []specs.Mount
	if o.Init {
		if env.InitPath == "" {
			return nil, nil, errors.New("--init: no init binary is configured on this host")
		}
		initMount = []specs.Mount{{Destination: "/dev/init", Type: "bind", Source: env.InitPath, Options: []string{"bind", "ro", "nosuid", "nodev"}}}
		args = append([]string{"/dev/init", "--"}, args...)
		ann[AnnInit] = env.InitPath
	}

	// Devices.
	devs, rules, err := devices(o, p.Devices, env)
	if err != nil {
		return nil, nil, err
	}
	if p.CPUQuota > 0 && env.NumCPU > 0 && p.CPUQuota > int64(env.NumCPU)*int64(p.CPUPeriod) {
		return nil, nil, fmt.Errorf("invalid --cpus %s: this host has only %d CPUs", o.CPUs, env.NumCPU)
	}

	// Mounts.
	mounts := defaultMounts(o.Privileged, o.ReadOnly, p.NS, targets, env)
	if o.ReadOnly {
		// podman's --read-only-tmpfs (on by default): writable scratch
		// space. podman adds "tmpcopyup", a runc/crun extension brig's
		// runtime does not promise, so the modes are explicit instead.
		for _, d := range []struct{ dst, mode string }{{"/run", "755"}, {"/tmp", "1777"}, {"/var/tmp", "1777"}} {
			mounts = append(mounts, specs.Mount{Destination: d.dst, Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "rprivate", "nosuid", "nodev", "mode=" + d.mode}})
		}
	}
	// Parents before children whatever order the flags came in (docker
	// sorts by depth too), so -v /b:/data/sub -v /a:/data keeps /data/sub.
	user := slices.Clone(p.Mounts)
	slices.SortStableFunc(user, func(a, b Mount) int { return depth(a.Destination) - depth(b.Destination) })
	for _, m := range user {
		mounts = append(mounts, m.Mount)
	}
	mounts = append(mounts, initMount...)

	masked, ro := MaskedPaths, ReadonlyPaths
	if o.Privileged {
		masked, ro = nil, nil
	} else if p.Security.Label.Nested {
		masked = slices.DeleteFunc(slices.Clone(masked), func(s string) bool { return s == "/sys/fs/selinux" })
	}

	// Seccomp: podman's rule; --privileged has none unless a profile is named.
	var sc *specs.LinuxSeccomp
	switch {
	case p.Security.Seccomp == "unconfined":
		ann[AnnSeccomp] = "unconfined"
	case o.Privileged && p.Security.Seccomp == "":
		ann[AnnSeccomp] = "unconfined (privileged)"
	default:
		if env.Seccomp == nil {
			return nil, nil, errors.New("no seccomp profile loader configured (refusing to run unconfined silently)")
		}
		sc, err = env.Seccomp(p.Security.Seccomp, c.Bounding)
		if err != nil {
			return nil, nil, fmt.Errorf("seccomp: %w", err)
		}
		if sc == nil {
			return nil, nil, errors.New("seccomp: the profile loader returned no filter")
		}
		if p.Security.Seccomp == "" {
			ann[AnnSeccomp] = "default"
		} else {
			ann[AnnSeccomp] = "profile " + p.Security.Seccomp
		}
	}
	if ll.Net != nil {
		// Landlock's TCP rules do not cover MPTCP sockets: refuse those
		// with seccomp, adding a filter if there was none.
		if sc == nil {
			sc = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
			ann[AnnSeccomp] += "; MPTCP blocked for landlock"
		}
		sc.Syscalls = append(sc.Syscalls, landlock.MPTCPRule())
	}
	// SELinux label, last: it may reserve an MCS level.
	lab, state, lw, err := decideLabel(o, p, targets, env)
	if err != nil {
		return nil, nil, err
	}
	warn = append(warn, lw...)
	ann[AnnLabelState] = state
	if lab.Process != "" {
		ann[AnnLabel] = lab.Process
	}
	if lab.Mount != "" {
		ann[AnnMountLabel] = lab.Mount
	}
	if len(p.Security.LabelOpts) > 0 {
		ann[AnnLabelOpts] = strings.Join(p.Security.LabelOpts, ",")
	}
	applied := lab
	if !env.SELinux {
		applied = label.Labels{}
	}

	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: env.Rootfs},
		Process: &specs.Process{},
		Linux:   &specs.Linux{Resources: &specs.LinuxResources{}},
	}
	build := Compose(
		WithProcess(args, procEnv, cwd, o.TTY),
		WithUser(u),
		WithCaps(c),
		WithNoNewPrivileges(p.Security.NoNewPrivileges),
		WithRlimits(p.Rlimits),
		WithRootReadonly(o.ReadOnly),
		WithHostname(hostnameIfPrivate(hostname, ns)),
		WithMounts(mounts),
		WithNamespaces(ns),
		WithMaskedPaths(masked, ro),
		WithSeccomp(sc),
		WithDevices(devs, rules),
		WithMemory(p.Memory),
		WithPidsLimit(o.PidsLimit),
		WithCPUQuota(p.CPUQuota, p.CPUPeriod),
		WithSysctls(p.Sysctls),
		WithLabel(applied.Process, applied.Mount),
		WithAnnotations(ann),
	)
	if err := build(s); err != nil {
		return nil, nil, err
	}
	return s, warn, nil
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

func hostnameIfPrivate(h string, ns []specs.LinuxNamespace) string {
	for _, n := range ns {
		if n.Type == specs.UTSNamespace && n.Path == "" {
			return h
		}
	}
	return ""
}

// processArgs applies docker's rule: --entrypoint replaces the image's
// entrypoint and drops its CMD; otherwise a given command replaces CMD.
func processArgs(o *Options, img ImageConfig) ([]string, error) {
	var args []string
	if ep := o.Parsed.Entrypoint; ep != nil {
		args = append(slices.Clone(ep), o.Command...)
	} else {
		args = slices.Clone(img.Entrypoint)
		if len(o.Command) > 0 {
			args = append(args, o.Command...)
		} else {
			args = append(args, img.Cmd...)
		}
	}
	if len(args) == 0 || args[0] == "" {
		return nil, fmt.Errorf("no command specified: image %s has no entrypoint or command; give one after the image", o.Image)
	}
	return args, nil
}

// resolveUser turns USER[:GROUP] into ids using the rootfs's /etc/passwd and
// /etc/group, resolved inside the rootfs so image symlinks cannot point at
// host files.
func resolveUser(rootfs, spec string) (specs.User, string, error) {
	passwd, group := "", ""
	if rootfs != "" {
		var err error
		if passwd, err = securejoin.SecureJoin(rootfs, "/etc/passwd"); err != nil {
			return specs.User{}, "", err
		}
		if group, err = securejoin.SecureJoin(rootfs, "/etc/group"); err != nil {
			return specs.User{}, "", err
		}
	}
	eu, err := user.GetExecUserPath(spec, &user.ExecUser{Home: "/"}, passwd, group)
	if err != nil {
		return specs.User{}, "", fmt.Errorf("--user %q: %v", spec, err)
	}
	if eu.Uid < 0 || eu.Gid < 0 {
		return specs.User{}, "", fmt.Errorf("--user %q: negative ids are not allowed", spec)
	}
	u := specs.User{UID: uint32(eu.Uid), GID: uint32(eu.Gid)}
	for _, g := range eu.Sgids {
		u.AdditionalGids = append(u.AdditionalGids, uint32(g))
	}
	return u, eu.Home, nil
}

func envKey(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }

func hasEnv(env []string, key string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { return envKey(kv) == key })
}

// mergeEnv overlays later KEY=VALUE entries on earlier ones, keeping order.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		if i := slices.IndexFunc(out, func(x string) bool { return envKey(x) == envKey(kv) }); i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// CapRequest is the input of Capabilities.
type CapRequest struct {
	Default    []string // nil: caps.DockerDefault
	Add, Drop  []string
	Privileged bool
	Host       caps.Set // host bounding set; 0: unknown (all)
	Root       bool     // process runs as uid 0
}

// Capabilities computes the five sets with Docker's add/drop rules and
// podman's handling of non-root users:
//
//   - bounding = default tweaked by add/drop (--privileged: the host's set),
//     limited to what the host has (with a warning naming what was lost);
//   - uid 0: effective = permitted = bounding;
//   - another uid: effective = permitted = ambient = the --cap-add caps
//     (within bounding), so the program keeps them across execve as podman
//     does; without --cap-add these are empty.
//   - inheritable is empty for root (CVE-2022-24769: a non-empty inheritable
//     set lets file capabilities raise privileges). For a non-root user with
//     ambient caps it equals ambient, because the kernel only keeps an
//     ambient cap that is also inheritable and permitted; this grants
//     nothing beyond the ambient set, which every execve already receives.
func Capabilities(r CapRequest) (*specs.LinuxCapabilities, []string, error) {
	def := r.Default
	if def == nil {
		def = caps.DockerDefault
	}
	if err := checkCapNames(r.Add, "--cap-add"); err != nil {
		return nil, nil, err
	}
	if err := checkCapNames(r.Drop, "--cap-drop"); err != nil {
		return nil, nil, err
	}
	host := r.Host
	if host == 0 {
		host = caps.Full()
	}
	var list []string
	var warn []string
	if r.Privileged {
		list = (host & caps.Full()).Names()
	} else {
		t, err := caps.Tweak(def, r.Add, r.Drop)
		if err != nil {
			return nil, nil, fmt.Errorf("default capabilities: %w", err)
		}
		want, _ := caps.FromNames(t)
		list = (want & host).Names()
		addAll := slices.ContainsFunc(r.Add, caps.IsAll)
		if lost := want &^ host; lost != 0 && !addAll {
			warn = append(warn, fmt.Sprintf("this host's bounding set lacks %s; the container runs without it", strings.Join(lost.Names(), ", ")))
		}
	}
	c := &specs.LinuxCapabilities{Bounding: list}
	if r.Root {
		c.Effective, c.Permitted = slices.Clone(list), slices.Clone(list)
		return c, warn, nil
	}
	added, _ := caps.FromNames(r.Add)
	bound, _ := caps.FromNames(list)
	if user := (added & bound).Names(); len(user) > 0 {
		c.Effective, c.Permitted = user, slices.Clone(user)
		c.Ambient, c.Inheritable = slices.Clone(user), slices.Clone(user)
	}
	return c, warn, nil
}

func capsDiff(def, got []string) string {
	if def == nil {
		def = caps.DockerDefault
	}
	d, _ := caps.FromNames(def)
	g, _ := caps.FromNames(got)
	return caps.Diff(d, g)
}

var nsFiles = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc",
	specs.UTSNamespace: "uts", specs.CgroupNamespace: "cgroup", specs.MountNamespace: "mnt",
}

// namespaces renders the namespace list: private → new, host → absent,
// container:NAME → that container's /proc/PID/ns/X, none → new (network:
// loopback only, brought up by the runtime).
func namespaces(n Namespaces, targets map[string]ContainerInfo, cgroupV2 bool) ([]specs.LinuxNamespace, map[string]string, error) {
	ann := map[string]string{}
	out := []specs.LinuxNamespace{}
	add := func(t specs.LinuxNamespaceType, key string, m NSMode, def string) {
		mode := m.Mode
		if mode == "" {
			mode = def
		}
		switch mode {
		case "host":
			ann[key] = "host"
		case "container":
			ci := targets[m.Container]
			p := ci.NSPaths[t]
			if p == "" {
				p = fmt.Sprintf("/proc/%d/ns/%s", ci.Pid, nsFiles[t])
			}
			out = append(out, specs.LinuxNamespace{Type: t, Path: p})
			ann[key] = "container:" + ci.ID
		default:
			out = append(out, specs.LinuxNamespace{Type: t})
			ann[key] = mode
		}
	}
	add(specs.PIDNamespace, "pid", n.PID, "private")
	add(specs.NetworkNamespace, "network", n.Net, "private")
	add(specs.IPCNamespace, "ipc", n.IPC, "private")
	add(specs.UTSNamespace, "uts", n.UTS, "private")
	out = append(out, specs.LinuxNamespace{Type: specs.MountNamespace})
	cg := "host"
	if cgroupV2 {
		cg = "private"
	}
	add(specs.CgroupNamespace, "cgroup", n.Cgroup, cg)
	return out, ann, nil
}

// defaultMounts are podman's (see ../shared/fixtures/podman-specs):
// /proc, a /dev tmpfs, devpts, mqueue, /dev/shm, read-only sysfs and cgroup
// (read-write with --privileged), plus the lifecycle's /etc files and, with
// --read-only, tmpfs on /run, /tmp and /var/tmp.
func defaultMounts(priv, ro bool, n Namespaces, targets map[string]ContainerInfo, env Env) []specs.Mount {
	sysOpt := []string{"nosuid", "noexec", "nodev", "ro"}
	cgOpt := []string{"rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"}
	if priv {
		sysOpt = []string{"rprivate", "nosuid", "noexec", "nodev", "rw"}
		cgOpt = []string{"rprivate", "nosuid", "noexec", "nodev", "relatime", "rw"}
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpt},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	shmOpt := []string{"bind", "rprivate", "nosuid", "noexec", "nodev"}
	switch {
	case n.IPC.Mode == "host":
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: shmOpt})
	case n.IPC.Mode == "container" && targets[n.IPC.Container].ShmPath != "":
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: targets[n.IPC.Container].ShmPath, Options: shmOpt})
	case n.IPC.Mode == "none":
		// docker: no /dev/shm at all
	case env.ShmPath != "":
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: env.ShmPath, Options: shmOpt})
	default:
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	etc := func(dst, src string) {
		if src == "" {
			return
		}
		o := []string{"bind", "rprivate"}
		if ro {
			o = append(o, "ro", "nosuid", "noexec", "nodev")
		}
		ms = append(ms, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: o})
	}
	etc("/etc/hosts", env.EtcHosts)
	etc("/etc/hostname", env.EtcHostname)
	etc("/etc/resolv.conf", env.ResolvConf)
	ms = append(ms, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpt})
	return ms
}

// devices returns device nodes and cgroup rules: deny everything, then allow
// the requested devices; --privileged gets every host device and allow-all.
func devices(o *Options, reqs []DeviceRequest, env Env) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	var devs []specs.LinuxDevice
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, r := range reqs {
		if env.DeviceInfo == nil {
			return nil, nil, fmt.Errorf("--device %s: device lookup is not available", r.Host)
		}
		found, err := env.DeviceInfo(r.Host)
		if err != nil {
			return nil, nil, fmt.Errorf("--device %s: %w", r.Host, err)
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("--device %s: not a device (and no devices below it)", r.Host)
		}
		for _, d := range found {
			rel := strings.TrimPrefix(d.Path, r.Host)
			d.Path = path.Join(r.Container, rel)
			devs = append(devs, d)
			maj, min := d.Major, d.Minor
			rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &maj, Minor: &min, Access: r.Access})
		}
	}
	if o.Privileged {
		if env.Devices == nil {
			return nil, nil, errors.New("--privileged: host device list is not available")
		}
		all, err := env.Devices()
		if err != nil {
			return nil, nil, fmt.Errorf("--privileged: listing host devices: %w", err)
		}
		devs = append(devs, all...)
		rules = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	return devs, rules, nil
}

// decideLabel applies Docker's and podman's label rules and returns the
// labels (whether or not SELinux will apply them), the state for inspect
// and warnings.
func decideLabel(o *Options, p Parsed, targets map[string]ContainerInfo, env Env) (label.Labels, string, []string, error) {
	lo := p.Security.Label
	explicit := len(p.Security.LabelOpts) > 0
	var warn []string
	compose := func(opts label.Options, level string) (label.Labels, error) {
		if env.SELinux {
			return label.Init(opts, level)
		}
		d := label.Builtin
		if env.LabelDefaults != nil {
			d = *env.LabelDefaults
		}
		return label.Compose(opts, level, d)
	}
	offHost := func() {
		if explicit && !env.SELinux {
			warn = append(warn, fmt.Sprintf("SELinux is disabled on this host: --security-opt label=%s is recorded (inspect: %s) but not applied", strings.Join(p.Security.LabelOpts, ","), AnnLabel))
		}
	}
	disabled := func(reason string) (label.Labels, string, []string, error) {
		l, err := compose(label.Options{Disable: true}, "")
		offHost()
		return l, "disabled: " + reason, warn, err
	}
	switch {
	case o.Privileged:
		if explicit && !lo.Disable {
			warn = append(warn, "--privileged disables label separation; the label options are ignored")
			explicit = false
		}
		return disabled("--privileged")
	case lo.Disable:
		return disabled("label=disable")
	case !explicit && p.NS.PID.IsHost():
		return disabled("--pid=host")
	case !explicit && p.NS.IPC.IsHost():
		return disabled("--ipc=host")
	}
	// Translate a named level (TopSecret) even without SELinux, so a bad
	// name is an error everywhere and inspect shows the raw level.
	if lo.Level != "" && !label.IsRawLevel(lo.Level) {
		if env.TranslateLevel == nil {
			return label.Labels{}, "", nil, fmt.Errorf("label level %q: named levels need the policy's setrans.conf, which is not configured", lo.Level)
		}
		raw, err := env.TranslateLevel(lo.Level)
		if err != nil {
			return label.Labels{}, "", nil, fmt.Errorf("label level %q: %w", lo.Level, err)
		}
		if !label.IsRawLevel(raw) {
			return label.Labels{}, "", nil, fmt.Errorf("label level %q translated to %q, which is not a raw level", lo.Level, raw)
		}
		lo.Level = raw
	}
	// Joining another container's pid or ipc namespace: take its label so
	// the processes can see each other (podman's DupSecOpt).
	if !explicit {
		for _, m := range []NSMode{p.NS.PID, p.NS.IPC} {
			if m.Mode != "container" {
				continue
			}
			if pl := targets[m.Container].ProcessLabel; pl != "" && label.LevelOf(pl) != "" {
				lo.Type, lo.Level = label.TypeOf(pl), label.LevelOf(pl)
				l, err := compose(lo, "")
				return l, state(env, "shared with "+targets[m.Container].ID), warn, err
			}
		}
	}
	level := ""
	switch {
	case lo.Level != "":
		if env.MCSExact != nil {
			if err := env.MCSExact(lo.Level); err != nil {
				return label.Labels{}, "", nil, fmt.Errorf("reserving level %s: %w", lo.Level, err)
			}
		}
	case env.MCS != nil:
		l, err := env.MCS()
		if err != nil {
			return label.Labels{}, "", nil, fmt.Errorf("reserving an MCS level: %w", err)
		}
		level = l
	case env.SELinux:
		return label.Labels{}, "", nil, errors.New("SELinux is enabled but no MCS allocator is configured")
	}
	l, err := compose(lo, level)
	if err != nil {
		return label.Labels{}, "", nil, err
	}
	offHost()
	return l, state(env, ""), warn, nil
}

func state(env Env, note string) string {
	s := "applied"
	if !env.SELinux {
		s = "not applied: SELinux is disabled on this host"
	}
	if note != "" {
		s += " (" + note + ")"
	}
	return s
}
