package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/label"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostSet is the fixture host's bounding set: 41 known caps minus SYS_RESOURCE.
var hostSet = caps.Full() &^ (1 << 24)

type fakeHost struct {
	seccompCalls [][]string
	seccompPath  string
	mcs          []string
	exact        []string
}

func (h *fakeHost) env() Env {
	ld := label.Builtin
	return Env{
		ID: "0123456789abcdef0123", Rootfs: "", Hostname: "hosty",
		Bounding: hostSet,
		Devices: func() ([]specs.LinuxDevice, error) {
			return []specs.LinuxDevice{{Path: "/dev/kvm", Type: "c", Major: 10, Minor: 232}, {Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}, nil
		},
		DeviceInfo: func(p string) ([]specs.LinuxDevice, error) {
			switch p {
			case "/dev/null":
				return []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}, nil
			case "/dev/snd":
				return []specs.LinuxDevice{{Path: "/dev/snd/a", Type: "c", Major: 116, Minor: 1}, {Path: "/dev/snd/b", Type: "c", Major: 116, Minor: 2}}, nil
			}
			return nil, os.ErrNotExist
		},
		Resolve: func(name string) (ContainerInfo, error) {
			switch name {
			case "db":
				return ContainerInfo{ID: "dbid", Pid: 4242, Running: true, ProcessLabel: "system_u:system_r:container_t:s0:c5,c6", ShmPath: "/run/brig/db/shm"}, nil
			case "stopped":
				return ContainerInfo{ID: "stoppedid", Running: false}, nil
			}
			return ContainerInfo{}, errors.New("no such container")
		},
		LabelDefaults: &ld,
		TranslateLevel: func(s string) (string, error) {
			if s == "TopSecret" {
				return "s15", nil
			}
			return "", errors.New("unknown level name (not in setrans.conf)")
		},
		MCS:      func() (string, error) { l := "s0:c1,c2"; h.mcs = append(h.mcs, l); return l, nil },
		MCSExact: func(l string) error { h.exact = append(h.exact, l); return nil },
		Seccomp: func(p string, c []string) (*specs.LinuxSeccomp, error) {
			h.seccompCalls = append(h.seccompCalls, c)
			h.seccompPath = p
			return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}, nil
		},
		InitPath: "/usr/libexec/brig-init",
		NumCPU:   2,
	}
}

func build(t *testing.T, line string, mod ...func(*Env)) (*specs.Spec, []string, *fakeHost) {
	t.Helper()
	o := mustRun(t, line)
	h := &fakeHost{}
	env := h.env()
	for _, m := range mod {
		m(&env)
	}
	s, w, err := Build(o, ImageConfig{Cmd: []string{"sh"}}, env)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return s, w, h
}

func buildErr(t *testing.T, line string, mod ...func(*Env)) error {
	t.Helper()
	o, err := run(t, line)
	if err != nil {
		return err
	}
	h := &fakeHost{}
	env := h.env()
	for _, m := range mod {
		m(&env)
	}
	_, _, err = Build(o, ImageConfig{Cmd: []string{"sh"}}, env)
	return err
}

func names(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func TestCapabilities(t *testing.T) {
	def := caps.Sorted(caps.DockerDefault)
	tests := []struct {
		name      string
		req       CapRequest
		bnd, eff  []string
		amb       []string
		warn, err string
	}{
		{name: "default", req: CapRequest{Root: true}, bnd: def, eff: def},
		{name: "add", req: CapRequest{Root: true, Add: []string{"sys_time"}}, bnd: caps.Sorted(append(slices.Clone(def), "CAP_SYS_TIME")), eff: caps.Sorted(append(slices.Clone(def), "CAP_SYS_TIME"))},
		{name: "drop", req: CapRequest{Root: true, Drop: []string{"SETUID", "setgid", "CAP_FOWNER"}},
			bnd: names("CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_KILL CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP"),
			eff: names("CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_KILL CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP")},
		{name: "drop all add", req: CapRequest{Root: true, Add: []string{"SYS_TIME"}, Drop: []string{"all"}}, bnd: names("CAP_SYS_TIME"), eff: names("CAP_SYS_TIME")},
		{name: "drop all", req: CapRequest{Root: true, Drop: []string{"ALL"}}},
		{name: "add all wins", req: CapRequest{Root: true, Add: []string{"ALL"}, Drop: []string{"CHOWN"}, Host: caps.Full()}, bnd: caps.Full().Names(), eff: caps.Full().Names()},
		{name: "add all on host without SYS_RESOURCE", req: CapRequest{Root: true, Add: []string{"ALL"}, Host: hostSet}, bnd: hostSet.Names(), eff: hostSet.Names()},
		{name: "privileged = host set, drops ignored", req: CapRequest{Root: true, Privileged: true, Drop: []string{"ALL"}, Host: hostSet}, bnd: hostSet.Names(), eff: hostSet.Names()},
		{name: "host lacks added cap", req: CapRequest{Root: true, Add: []string{"SYS_RESOURCE"}, Drop: []string{"ALL"}, Host: hostSet}, warn: "lacks CAP_SYS_RESOURCE"},
		{name: "custom default", req: CapRequest{Root: true, Default: []string{"CAP_KILL"}}, bnd: names("CAP_KILL"), eff: names("CAP_KILL")},
		{name: "non-root, no add", req: CapRequest{}, bnd: def},
		{name: "non-root with add gets ambient", req: CapRequest{Add: []string{"NET_BIND_SERVICE", "SYS_TIME"}},
			bnd: caps.Sorted(append(slices.Clone(def), "CAP_SYS_TIME")), eff: names("CAP_NET_BIND_SERVICE CAP_SYS_TIME"), amb: names("CAP_NET_BIND_SERVICE CAP_SYS_TIME")},
		{name: "non-root add of dropped cap", req: CapRequest{Add: []string{"SYS_TIME"}, Drop: []string{"ALL"}}, bnd: names("CAP_SYS_TIME"), eff: names("CAP_SYS_TIME"), amb: names("CAP_SYS_TIME")},
		{name: "unknown add", req: CapRequest{Add: []string{"SYS_TIME", "WIZARD"}}, err: `--cap-add: unknown capability "WIZARD"`},
		{name: "unknown drop", req: CapRequest{Drop: []string{"cap_nope"}}, err: `--cap-drop: unknown capability "cap_nope"`},
		{name: "bad default", req: CapRequest{Default: []string{"NOPE"}}, err: "default capabilities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w, err := Capabilities(tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.warn != "" {
				if len(w) != 1 || !strings.Contains(w[0], tt.warn) {
					t.Fatalf("warnings = %q, want %q", w, tt.warn)
				}
				return
			}
			if len(w) != 0 {
				t.Errorf("unexpected warnings %q", w)
			}
			eq := func(set string, got, want []string) {
				if len(got) == 0 && len(want) == 0 {
					return
				}
				if !reflect.DeepEqual(caps.Sorted(got), caps.Sorted(want)) {
					t.Errorf("%s = %v, want %v", set, got, want)
				}
			}
			eq("bounding", c.Bounding, tt.bnd)
			eq("effective", c.Effective, tt.eff)
			eq("permitted", c.Permitted, tt.eff)
			eq("ambient", c.Ambient, tt.amb)
			// Inheritable is empty except where ambient needs it (CVE-2022-24769).
			eq("inheritable", c.Inheritable, tt.amb)
		})
	}
}

func TestBuildDefaults(t *testing.T) {
	s, w, h := build(t, "run img")
	if len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
	if s.Process.Args[0] != "sh" || s.Process.Cwd != "/" || s.Hostname != "0123456789ab" {
		t.Errorf("process/hostname: %+v %q", s.Process, s.Hostname)
	}
	if !slices.Contains(s.Process.Env, DefaultPath) || !slices.Contains(s.Process.Env, "HOSTNAME=0123456789ab") || !slices.Contains(s.Process.Env, "HOME=/") {
		t.Errorf("env = %q", s.Process.Env)
	}
	if s.Linux.Seccomp == nil || h.seccompPath != "" || len(h.seccompCalls) != 1 || len(h.seccompCalls[0]) != 14 {
		t.Errorf("seccomp loader called with %q %v", h.seccompPath, h.seccompCalls)
	}
	var types []string
	for _, n := range s.Linux.Namespaces {
		if n.Path != "" {
			t.Errorf("unexpected ns path %+v", n)
		}
		types = append(types, string(n.Type))
	}
	if strings.Join(types, ",") != "pid,network,ipc,uts,mount" {
		t.Errorf("namespaces = %v", types)
	}
	if !reflect.DeepEqual(s.Linux.Resources.Devices, []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}) || len(s.Linux.Devices) != 0 {
		t.Errorf("devices: %+v %+v", s.Linux.Devices, s.Linux.Resources.Devices)
	}
	if s.Process.SelinuxLabel != "" || s.Linux.MountLabel != "" {
		t.Error("label put in the spec on a host without SELinux")
	}
	a := s.Annotations
	if a[AnnLabel] != "system_u:system_r:container_t:s0:c1,c2" || a[AnnSeccomp] != "default" || a[AnnPrivileged] != "false" || !strings.HasPrefix(a[AnnLabelState], "not applied") {
		t.Errorf("annotations %v", a)
	}
	if len(h.mcs) != 1 {
		t.Errorf("MCS reserved %d times", len(h.mcs))
	}
	if s.Process.Capabilities.Inheritable != nil || s.Process.Capabilities.Ambient != nil {
		t.Errorf("root container has inheritable/ambient: %+v", s.Process.Capabilities)
	}
	mount := func(dst string) *specs.Mount {
		for i := range s.Mounts {
			if s.Mounts[i].Destination == dst {
				return &s.Mounts[i]
			}
		}
		return nil
	}
	if m := mount("/dev/shm"); m == nil || m.Type != "tmpfs" {
		t.Errorf("/dev/shm = %+v", m)
	}
	if m := mount("/sys"); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf("/sys = %+v", m)
	}
}

func TestBuildProcess(t *testing.T) {
	img := ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"default"}, Env: []string{"PATH=/img", "A=img"}, WorkingDir: "/work", User: "123"}
	h := &fakeHost{}
	cases := []struct {
		line string
		args []string
		cwd  string
		uid  uint32
	}{
		{"run img", []string{"/ep", "default"}, "/work", 123},
		{"run img x y", []string{"/ep", "x", "y"}, "/work", 123},
		{"run --entrypoint /other img", []string{"/other"}, "/work", 123},
		{"run --entrypoint /other img z", []string{"/other", "z"}, "/work", 123},
		{"run --entrypoint= img /bin/true", []string{"/bin/true"}, "/work", 123},
		{"run -w /w -u 0 img", []string{"/ep", "default"}, "/w", 0},
	}
	for _, c := range cases {
		s, _, err := Build(mustRun(t, c.line), img, h.env())
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		if !reflect.DeepEqual(s.Process.Args, c.args) || s.Process.Cwd != c.cwd || s.Process.User.UID != c.uid {
			t.Errorf("%s: args %q cwd %q uid %d", c.line, s.Process.Args, s.Process.Cwd, s.Process.User.UID)
		}
	}
	s, _, _ := Build(mustRun(t, "run -e A=cli -t img"), img, h.env())
	if !reflect.DeepEqual(s.Process.Env[:2], []string{"PATH=/img", "A=cli"}) || !slices.Contains(s.Process.Env, "TERM=xterm") || !s.Process.Terminal {
		t.Errorf("env = %q", s.Process.Env)
	}
	if _, _, err := Build(mustRun(t, "run --entrypoint= img"), img, h.env()); err == nil || !strings.Contains(err.Error(), "no command specified") {
		t.Errorf("empty command: %v", err)
	}
}

func TestBuildUserFromRootfs(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nwww:x:33:\naudio:x:29:www\n"), 0o644)
	h := &fakeHost{}
	env := h.env()
	env.Rootfs = root
	s, _, err := Build(mustRun(t, "run -u www --cap-add NET_BIND_SERVICE img"), ImageConfig{Cmd: []string{"x"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	u := s.Process.User
	if u.UID != 33 || u.GID != 33 || !reflect.DeepEqual(u.AdditionalGids, []uint32{29}) || !slices.Contains(s.Process.Env, "HOME=/var/www") {
		t.Errorf("user = %+v env %q", u, s.Process.Env)
	}
	c := s.Process.Capabilities
	if !reflect.DeepEqual(c.Ambient, []string{"CAP_NET_BIND_SERVICE"}) || !reflect.DeepEqual(c.Effective, c.Ambient) || len(c.Bounding) != 14 {
		t.Errorf("caps = %+v", c)
	}
	if s.Annotations[AnnAmbient] != "CAP_NET_BIND_SERVICE" {
		t.Errorf("ambient annotation %v", s.Annotations)
	}
	if _, _, err := Build(mustRun(t, "run -u nobody img"), ImageConfig{Cmd: []string{"x"}}, env); err == nil || !strings.Contains(err.Error(), `--user "nobody"`) {
		t.Errorf("unknown user: %v", err)
	}
	// A symlinked /etc/passwd must resolve inside the rootfs, not on the host.
	os.Remove(filepath.Join(root, "etc/passwd"))
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd"))
	if _, _, err := Build(mustRun(t, "run -u root img"), ImageConfig{Cmd: []string{"x"}}, env); err == nil {
		t.Error("user resolved through a symlink to the host's /etc/passwd")
	}
}

func TestBuildNamespaces(t *testing.T) {
	s, _, _ := build(t, "run --pid container:db --net container:db --ipc container:db --uts host img")
	want := []specs.LinuxNamespace{
		{Type: "pid", Path: "/proc/4242/ns/pid"}, {Type: "network", Path: "/proc/4242/ns/net"},
		{Type: "ipc", Path: "/proc/4242/ns/ipc"}, {Type: "mount"},
	}
	if !reflect.DeepEqual(s.Linux.Namespaces, want) {
		t.Errorf("namespaces = %+v", s.Linux.Namespaces)
	}
	if s.Hostname != "" {
		t.Errorf("hostname set with --uts=host: %q", s.Hostname)
	}
	if s.Annotations[AnnNSPrefix+"pid"] != "container:dbid" || s.Annotations[AnnNSPrefix+"uts"] != "host" {
		t.Errorf("annotations %v", s.Annotations)
	}
	// Joining db's pid/ipc namespace shares its label (type and level).
	if s.Annotations[AnnLabel] != "system_u:system_r:container_t:s0:c5,c6" {
		t.Errorf("label = %q", s.Annotations[AnnLabel])
	}
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" && m.Source != "/run/brig/db/shm" {
			t.Errorf("shm = %+v", m)
		}
	}
	s, _, _ = build(t, "run --net none --cgroupns private img")
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == "network" && n.Path == "" }) ||
		!slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == "cgroup" }) {
		t.Errorf("none/cgroupns: %+v", s.Linux.Namespaces)
	}
	s, _, _ = build(t, "run img", func(e *Env) { e.CgroupV2 = true })
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == "cgroup" }) {
		t.Error("cgroup v2 default is a private cgroup namespace")
	}
	s, _, _ = build(t, "run --net host img")
	if s.Hostname != "hosty" {
		t.Errorf("--net=host hostname = %q", s.Hostname)
	}
	for line, want := range map[string]string{
		"run --pid container:ghost img":   "container:ghost: no such container",
		"run --ipc container:stopped img": "not running",
	} {
		if err := buildErr(t, line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", line, err)
		}
	}
}

func TestBuildLabels(t *testing.T) {
	tests := []struct {
		line, state, lbl string
		warns            int
	}{
		{"run --pid host img", "disabled: --pid=host", "", 0},
		{"run --ipc host img", "disabled: --ipc=host", "", 0},
		{"run --pid host --security-opt label=type:spc_t img", "not applied: SELinux is disabled on this host", "system_u:system_r:spc_t:s0:c1,c2", 1},
		{"run --privileged img", "disabled: --privileged", "", 0},
		{"run --privileged --security-opt label=type:x_t img", "disabled: --privileged", "", 1},
		{"run --security-opt label=disable img", "disabled: label=disable", "", 1},
		{"run --security-opt label:level:TopSecret img", "not applied: SELinux is disabled on this host", "system_u:system_r:container_t:s15", 1},
		{"run --security-opt type:docker_apache_t img", "not applied: SELinux is disabled on this host", "system_u:system_r:docker_apache_t:s0:c1,c2", 1},
		{"run --security-opt label=level:s0:c9,c10 --security-opt label=user:staff_u img", "not applied: SELinux is disabled on this host", "staff_u:system_r:container_t:s0:c9,c10", 1},
	}
	for _, tt := range tests {
		s, w, _ := build(t, tt.line)
		a := s.Annotations
		if a[AnnLabelState] != tt.state || a[AnnLabel] != tt.lbl || len(w) != tt.warns {
			t.Errorf("%s:\n state %q label %q warnings %q", tt.line, a[AnnLabelState], a[AnnLabel], w)
		}
		if s.Process.SelinuxLabel != "" || s.Linux.MountLabel != "" {
			t.Errorf("%s: label in spec without SELinux", tt.line)
		}
	}
	_, w, _ := build(t, "run --security-opt label=level:TopSecret img")
	if len(w) != 1 || !strings.Contains(w[0], "SELinux is disabled") || !strings.Contains(w[0], "level:TopSecret") {
		t.Errorf("warning = %q", w)
	}
	// Explicit levels go to MCSExact, not to the random allocator.
	_, _, h := build(t, "run --security-opt label=level:TopSecret img")
	if len(h.mcs) != 0 || !reflect.DeepEqual(h.exact, []string{"s15"}) {
		t.Errorf("mcs %v exact %v", h.mcs, h.exact)
	}
	if err := buildErr(t, "run --security-opt label=level:Secretish img"); err == nil || !strings.Contains(err.Error(), "not in setrans.conf") {
		t.Errorf("unknown level: %v", err)
	}
	if err := buildErr(t, "run --security-opt label=level:TopSecret img", func(e *Env) { e.TranslateLevel = nil }); err == nil || !strings.Contains(err.Error(), "setrans.conf") {
		t.Errorf("no translator: %v", err)
	}
	// With SELinux on, labels land in the spec.
	s, w, _ := build(t, "run --security-opt label=type:docker_apache_t img", func(e *Env) { e.SELinux = true })
	if len(w) != 0 || (label.Enabled() == false && s.Process.SelinuxLabel != "system_u:system_r:docker_apache_t:s0:c1,c2") || s.Linux.MountLabel == "" {
		t.Errorf("selinux on: %q %q %q", s.Process.SelinuxLabel, s.Linux.MountLabel, w)
	}
	if err := buildErr(t, "run img", func(e *Env) { e.SELinux = true; e.MCS = nil }); err == nil {
		t.Error("SELinux on without an allocator accepted")
	}
	s, _, _ = build(t, "run --security-opt label=nested img")
	if slices.Contains(s.Linux.MaskedPaths, "/sys/fs/selinux") {
		t.Error("label=nested still masks /sys/fs/selinux")
	}
}

func TestBuildPrivileged(t *testing.T) {
	s, _, h := build(t, "run --privileged --cap-drop ALL img")
	if len(h.seccompCalls) != 0 || s.Linux.Seccomp != nil {
		t.Error("privileged got seccomp")
	}
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Error("privileged got masked paths")
	}
	if len(s.Process.Capabilities.Bounding) != hostSet.Count() || slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_RESOURCE") {
		t.Errorf("bounding = %v", s.Process.Capabilities.Bounding)
	}
	if len(s.Linux.Devices) != 2 || !reflect.DeepEqual(s.Linux.Resources.Devices, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}) {
		t.Errorf("devices %+v %+v", s.Linux.Devices, s.Linux.Resources.Devices)
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && !slices.Contains(m.Options, "rw") {
			t.Errorf("%s not rw: %v", m.Destination, m.Options)
		}
	}
	s, _, h = build(t, "run --privileged --security-opt seccomp=/dev/null img")
	if s.Linux.Seccomp == nil || h.seccompPath != "/dev/null" {
		t.Error("an explicit profile must apply even with --privileged (podman)")
	}
}

func TestBuildMisc(t *testing.T) {
	s, _, _ := build(t, "run --read-only -v /tmp:/data:ro --tmpfs /run:size=1m -m 64m --pids-limit 50 --cpus 0.5 --ulimit nofile=10 --sysctl net.core.somaxconn=5 --device /dev/snd:/dev/audio:r --init --security-opt no-new-privileges --security-opt landlock=ro:/usr img", func(e *Env) {
		e.EtcHosts, e.EtcHostname = "/c/hosts", "/c/hostname"
	})
	if !s.Root.Readonly || !s.Process.NoNewPrivileges {
		t.Error("readonly/nnp")
	}
	byDst := map[string]specs.Mount{}
	for _, m := range s.Mounts {
		if _, dup := byDst[m.Destination]; dup {
			t.Errorf("duplicate mount %s", m.Destination)
		}
		byDst[m.Destination] = m
	}
	if m := byDst["/run"]; !slices.Contains(m.Options, "size=1m") {
		t.Errorf("user --tmpfs /run should replace the read-only tmpfs: %+v", m)
	}
	for _, d := range []string{"/tmp", "/var/tmp"} {
		if byDst[d].Type != "tmpfs" {
			t.Errorf("%s missing with --read-only", d)
		}
	}
	if m := byDst["/data"]; m.Source != "/tmp" || !slices.Contains(m.Options, "ro") {
		t.Errorf("/data = %+v", m)
	}
	if m := byDst["/etc/hosts"]; !slices.Contains(m.Options, "ro") {
		t.Errorf("/etc/hosts with --read-only = %+v", m)
	}
	if m := byDst["/dev/init"]; m.Source != "/usr/libexec/brig-init" || s.Process.Args[0] != "/dev/init" || s.Process.Args[1] != "--" {
		t.Errorf("init: %+v %q", m, s.Process.Args)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.Pids.Limit != 50 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 {
		t.Errorf("resources %+v", r)
	}
	if len(s.Process.Rlimits) != 1 || s.Linux.Sysctl["net.core.somaxconn"] != "5" {
		t.Error("rlimits/sysctl")
	}
	if len(s.Linux.Devices) != 2 || s.Linux.Devices[0].Path != "/dev/audio/a" || len(r.Devices) != 3 || r.Devices[1].Access != "r" || *r.Devices[1].Major != 116 {
		t.Errorf("devices %+v rules %+v", s.Linux.Devices, r.Devices)
	}
	if s.Annotations[AnnLandlock] != `{"fs":{"ro":["/usr"],"rw":[]}}` || s.Annotations[AnnNNP] != "true" || s.Annotations[AnnReadOnly] != "true" {
		t.Errorf("annotations %v", s.Annotations)
	}
	for line, want := range map[string]string{
		"run --device /dev/nope img":                    "--device /dev/nope",
		"run --cpus 3 img":                              "only 2 CPUs",
		"run --init img":                                "no init binary",
		"run --security-opt seccomp=/dev/null img":      "boom",
		"run --cap-add SYS_TIME --cap-drop frobble img": `unknown capability "frobble"`,
	} {
		err := buildErr(t, line, func(e *Env) {
			e.InitPath = ""
			e.Seccomp = func(string, []string) (*specs.LinuxSeccomp, error) { return nil, errors.New("boom") }
		})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", line, err)
		}
	}
	if err := buildErr(t, "run img", func(e *Env) { e.Seccomp = nil }); err == nil || !strings.Contains(err.Error(), "seccomp") {
		t.Errorf("no loader: %v", err)
	}
	// seccomp=unconfined never calls the loader.
	s, _, h := build(t, "run --security-opt seccomp=unconfined img")
	if s.Linux.Seccomp != nil || len(h.seccompCalls) != 0 || s.Annotations[AnnSeccomp] != "unconfined" {
		t.Error("unconfined")
	}
}

func TestBuildMountOrder(t *testing.T) {
	s, _, _ := build(t, "run -v /tmp:/data/sub/x -v /tmp:/data/sub -v /:/data img")
	var order []string
	for _, m := range s.Mounts {
		if strings.HasPrefix(m.Destination, "/data") {
			order = append(order, m.Destination)
		}
	}
	if strings.Join(order, " ") != "/data /data/sub /data/sub/x" {
		t.Errorf("mount order %v", order)
	}
}

func TestOpts(t *testing.T) {
	s := &specs.Spec{}
	err := Compose(
		WithMounts([]specs.Mount{{Destination: "/a", Type: "tmpfs"}, {Destination: "/b"}}),
		WithMounts([]specs.Mount{{Destination: "/a", Type: "bind"}}),
		WithDevices([]specs.LinuxDevice{{Path: "/dev/x"}, {Path: "/dev/x"}}, nil),
		WithSysctls(map[string]string{"a": "1"}),
		WithAnnotations(map[string]string{"k": "v"}),
	)(s)
	if err != nil || len(s.Mounts) != 2 || s.Mounts[0].Type != "bind" || len(s.Linux.Devices) != 1 || s.Linux.Sysctl["a"] != "1" || s.Annotations["k"] != "v" {
		t.Errorf("compose: %+v %v", s, err)
	}
	boom := errors.New("boom")
	called := false
	err = Compose(func(*specs.Spec) error { return boom }, func(*specs.Spec) error { called = true; return nil })(s)
	if err != boom || called {
		t.Error("Compose must stop at the first error")
	}
}

// Landlock network rules come with the seccomp rule that refuses MPTCP
// sockets, which Landlock's TCP rules do not cover; even unconfined.
func TestLandlockBlocksMPTCP(t *testing.T) {
	for _, line := range []string{
		"run --security-opt landlock=bind:80,connect:none img",
		"run --security-opt seccomp=unconfined --security-opt landlock=bind:80 img",
	} {
		o, err := ParseRunArgs(strings.Fields(line))
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := Build(o, ImageConfig{Cmd: []string{"sh"}}, (&fakeHost{}).env())
		if err != nil {
			t.Fatal(err)
		}
		if s.Linux.Seccomp == nil {
			t.Fatalf("%s: no seccomp filter", line)
		}
		found := false
		for _, sc := range s.Linux.Seccomp.Syscalls {
			found = found || (len(sc.Names) == 1 && sc.Names[0] == "socket" && len(sc.Args) == 1 && sc.Args[0].Value == 262)
		}
		if !found {
			t.Errorf("%s: no MPTCP rule", line)
		}
	}
	if _, err := ParseRunArgs(strings.Fields("run --security-opt landlock=bind:99999 img")); err == nil {
		o, _ := ParseRunArgs(strings.Fields("run --security-opt landlock=bind:99999 img"))
		if o != nil {
			if _, _, err := Build(o, ImageConfig{Cmd: []string{"sh"}}, (&fakeHost{}).env()); err == nil {
				t.Error("port 99999 accepted")
			}
		}
	}
}
