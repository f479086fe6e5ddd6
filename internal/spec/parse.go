package spec

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/label"
	"github.com/brigrt/brig/internal/units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Parsed is the checked, structured form of the flag strings.
type Parsed struct {
	Security   Security
	NS         Namespaces
	Env        []string // -e and --env-file, in order, KEY=VALUE
	Mounts     []Mount  // -v, --mount and --tmpfs, in order
	Rlimits    []specs.POSIXRlimit
	Sysctls    map[string]string
	Devices    []DeviceRequest
	Memory     int64 // bytes, 0 = no limit
	CPUQuota   int64 // microseconds per CPUPeriod, 0 = no limit
	CPUPeriod  uint64
	Entrypoint []string // nil: use the image's; [] : cleared
}

// Security is the parsed --security-opt list.
type Security struct {
	Label           label.Options
	LabelOpts       []string // label options as the user wrote them
	NoNewPrivileges bool
	Seccomp         string // "" (default profile), "unconfined", or a profile path
	Landlock        string // raw landlock=... value, stored for the landlock engineer
}

// NSMode is one namespace flag.
type NSMode struct {
	Mode      string // private, host, none, container
	Container string // NAME for container:NAME
}

func (m NSMode) String() string {
	if m.Mode == "container" {
		return "container:" + m.Container
	}
	return m.Mode
}

// IsHost reports --X=host.
func (m NSMode) IsHost() bool { return m.Mode == "host" }

// Namespaces are the parsed namespace flags.
type Namespaces struct{ PID, Net, IPC, UTS, Cgroup NSMode }

// Mount is one user mount; Relabel is "z" (shared) or "Z" (private) when the
// lifecycle must relabel the source for SELinux before start.
type Mount struct {
	specs.Mount
	Relabel string
}

// DeviceRequest is one --device.
type DeviceRequest struct {
	Host, Container, Access string
}

// Validate checks every flag and fills o.Parsed. Each bad input is an error
// that names it and says what is expected.
func (o *Options) Validate() error {
	var p Parsed
	var err error
	if o.Image == "" {
		return errors.New("no image given: run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if o.Name != "" && !nameRE.MatchString(o.Name) {
		return fmt.Errorf("invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters", o.Name)
	}
	if err := checkCapNames(o.CapAdd, "--cap-add"); err != nil {
		return err
	}
	if err := checkCapNames(o.CapDrop, "--cap-drop"); err != nil {
		return err
	}
	if p.Security, err = ParseSecurityOpts(o.SecurityOpt); err != nil {
		return err
	}
	if p.NS, err = o.parseNamespaces(); err != nil {
		return err
	}
	if o.Hostname != "" {
		if !hostnameRE.MatchString(o.Hostname) || len(o.Hostname) > 64 {
			return fmt.Errorf("invalid hostname %q: use letters, digits, '-' and '.', at most 64 characters", o.Hostname)
		}
		if p.NS.UTS.IsHost() {
			return errors.New("conflicting options: --hostname and --uts=host")
		}
		if p.NS.Net.Mode == "container" {
			return errors.New("conflicting options: --hostname and --network=container:NAME (the other container's host name is used)")
		}
	}
	if o.Workdir != "" && !path.IsAbs(o.Workdir) {
		return fmt.Errorf("the working directory %q is invalid: it must be an absolute path", o.Workdir)
	}
	if o.User != "" {
		if strings.ContainsAny(o.User, " \t\n\x00") || strings.HasPrefix(o.User, ":") || strings.HasSuffix(o.User, ":") || strings.Count(o.User, ":") > 1 {
			return fmt.Errorf("invalid --user %q: use USER, UID, USER:GROUP or UID:GID", o.User)
		}
	}
	if o.Entrypoint != nil {
		if *o.Entrypoint == "" {
			p.Entrypoint = []string{}
		} else {
			p.Entrypoint = []string{*o.Entrypoint}
		}
	}
	for _, f := range o.EnvFile {
		env, err := ReadEnvFile(f)
		if err != nil {
			return err
		}
		p.Env = append(p.Env, env...)
	}
	for _, e := range o.Env {
		kv, ok, err := parseEnv(e, os.LookupEnv)
		if err != nil {
			return fmt.Errorf("invalid -e %q: %v", e, err)
		}
		if ok {
			p.Env = append(p.Env, kv)
		}
	}
	for _, v := range o.Volumes {
		m, err := ParseVolume(v)
		if err != nil {
			return err
		}
		p.Mounts = append(p.Mounts, m)
	}
	for _, v := range o.Mounts {
		m, err := ParseMount(v)
		if err != nil {
			return err
		}
		p.Mounts = append(p.Mounts, m)
	}
	for _, v := range o.Tmpfs {
		m, err := ParseTmpfs(v)
		if err != nil {
			return err
		}
		p.Mounts = append(p.Mounts, m)
	}
	seen := map[string]bool{}
	for _, m := range p.Mounts {
		if seen[m.Destination] {
			return fmt.Errorf("duplicate mount point %s", m.Destination)
		}
		seen[m.Destination] = true
		if m.Type == "bind" {
			if _, err := os.Stat(m.Source); err != nil {
				return fmt.Errorf("bind source %s for %s: %v (brig does not create missing host paths)", m.Source, m.Destination, errors.Unwrap(err))
			}
		}
	}
	if o.Memory != "" {
		if p.Memory, err = units.ParseBytes(o.Memory); err != nil {
			return fmt.Errorf("invalid --memory %q: %v", o.Memory, err)
		}
		if p.Memory < 6<<20 {
			return fmt.Errorf("invalid --memory %q: the minimum is 6MB", o.Memory)
		}
	}
	if o.CPUs != "" {
		if p.CPUQuota, p.CPUPeriod, err = ParseCPUs(o.CPUs); err != nil {
			return fmt.Errorf("invalid --cpus %q: %v", o.CPUs, err)
		}
	}
	if o.PidsLimit < -1 {
		return fmt.Errorf("invalid --pids-limit %d: use a positive number, or -1 for unlimited", o.PidsLimit)
	}
	for _, u := range o.Ulimits {
		r, err := ParseUlimit(u)
		if err != nil {
			return err
		}
		// The last --ulimit for a name wins, as in docker.
		replaced := false
		for i := range p.Rlimits {
			if p.Rlimits[i].Type == r.Type {
				p.Rlimits[i], replaced = r, true
			}
		}
		if !replaced {
			p.Rlimits = append(p.Rlimits, r)
		}
	}
	for _, s := range o.Sysctls {
		k, v, err := ParseSysctl(s, p.NS)
		if err != nil {
			return err
		}
		if p.Sysctls == nil {
			p.Sysctls = map[string]string{}
		}
		p.Sysctls[k] = v
	}
	for _, d := range o.Devices {
		r, err := ParseDevice(d)
		if err != nil {
			return err
		}
		p.Devices = append(p.Devices, r)
	}
	if s := p.Security.Seccomp; s != "" && s != "unconfined" {
		if _, err := os.Stat(s); err != nil {
			return fmt.Errorf("seccomp profile %s: %v", s, errors.Unwrap(err))
		}
	}
	o.Parsed = p
	return nil
}

var (
	nameRE     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`)
	envKeyRE   = regexp.MustCompile(`^[^=\x00]+$`)
	cpusRE     = regexp.MustCompile(`^[0-9]{1,7}(\.[0-9]{0,9})?$`)
)

func checkCapNames(list []string, flag string) error {
	var bad []string
	for _, n := range list {
		if caps.IsAll(n) {
			continue
		}
		if _, err := caps.Parse(n); err != nil {
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: unknown capability %s (expected names such as NET_ADMIN or CAP_NET_ADMIN, or ALL; see capabilities(7))", flag, quoteList(bad))
	}
	return nil
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// ParseSecurityOpts parses --security-opt values: label=..., the old colon
// forms (label:level:TopSecret, label:type:T and the article's bare type:T),
// no-new-privileges[=true|false], seccomp=unconfined|PATH, landlock=...,
// and apparmor=unconfined (brig has no AppArmor support).
func ParseSecurityOpts(list []string) (Security, error) {
	var s Security
	const hint = "use label=type:T|level:L|user:U|role:R|filetype:T|disable|nested, no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json or landlock=..."
	for _, opt := range list {
		if opt == "no-new-privileges" {
			s.NoNewPrivileges = true
			continue
		}
		if opt == "disable" { // docker's oldest form
			s.Label.Disable = true
			s.LabelOpts = append(s.LabelOpts, opt)
			continue
		}
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok || v == "" {
			return s, fmt.Errorf("invalid --security-opt %q: %s", opt, hint)
		}
		switch k {
		case "label":
			if err := s.Label.Add(v); err != nil {
				return s, fmt.Errorf("invalid --security-opt %q: %v", opt, err)
			}
			s.LabelOpts = append(s.LabelOpts, v)
		case "type", "level", "user", "role":
			// Docker 1.x took label parts without the "label" key; the
			// article writes --security-opt type:docker_apache_t.
			if err := s.Label.Add(k + ":" + v); err != nil {
				return s, fmt.Errorf("invalid --security-opt %q: %v", opt, err)
			}
			s.LabelOpts = append(s.LabelOpts, k+":"+v)
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("invalid --security-opt %q: no-new-privileges takes true or false", opt)
			}
			s.NoNewPrivileges = b
		case "seccomp":
			s.Seccomp = v
		case "landlock":
			s.Landlock = v
		case "apparmor":
			if v != "unconfined" {
				return s, fmt.Errorf("invalid --security-opt %q: brig does not apply AppArmor profiles (only apparmor=unconfined is accepted)", opt)
			}
		default:
			return s, fmt.Errorf("invalid --security-opt %q: unknown option %q; %s", opt, k, hint)
		}
	}
	return s, nil
}

func (o *Options) parseNamespaces() (Namespaces, error) {
	var n Namespaces
	var err error
	if n.PID, err = ParseNSMode("pid", o.PID); err != nil {
		return n, err
	}
	if n.Net, err = ParseNSMode("network", o.Network); err != nil {
		return n, err
	}
	if n.IPC, err = ParseNSMode("ipc", o.IPC); err != nil {
		return n, err
	}
	if n.UTS, err = ParseNSMode("uts", o.UTS); err != nil {
		return n, err
	}
	if n.Cgroup, err = ParseNSMode("cgroupns", o.CgroupNS); err != nil {
		return n, err
	}
	return n, nil
}

// ParseNSMode parses one namespace flag value. "" means the default (private;
// for cgroupns Build picks the host's default).
func ParseNSMode(flag, v string) (NSMode, error) {
	valid := map[string]string{
		"pid":      "private, host or container:NAME",
		"network":  "private (loopback only), none, host or container:NAME",
		"ipc":      "private, shareable, none, host or container:NAME",
		"uts":      "private, host or container:NAME",
		"cgroupns": "private, host or container:NAME",
	}[flag]
	switch {
	case v == "":
		return NSMode{}, nil
	case v == "private":
		return NSMode{Mode: "private"}, nil
	case v == "host":
		return NSMode{Mode: "host"}, nil
	case v == "none" && (flag == "network" || flag == "ipc"):
		return NSMode{Mode: "none"}, nil
	case v == "shareable" && flag == "ipc":
		return NSMode{Mode: "private"}, nil
	case v == "default" && flag == "network":
		return NSMode{Mode: "private"}, nil
	case v == "bridge" && flag == "network":
		return NSMode{}, fmt.Errorf("--network=bridge is not available yet: brig gives containers a private network namespace with loopback only (the default); use none, host or container:NAME otherwise")
	case strings.HasPrefix(v, "container:"):
		name := strings.TrimPrefix(v, "container:")
		if name == "" {
			return NSMode{}, fmt.Errorf("invalid --%s %q: container: needs a container name or id", flag, v)
		}
		return NSMode{Mode: "container", Container: name}, nil
	}
	return NSMode{}, fmt.Errorf("invalid --%s %q: use %s", flag, v, valid)
}

// ReadEnvFile reads docker's env-file format: KEY=VALUE or KEY (copied from
// this environment when set), # comments and blank lines. Errors carry the
// line number.
func ReadEnvFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	return ParseEnvFile(f, name, os.LookupEnv)
}

// ParseEnvFile is ReadEnvFile on a reader, with the environment injected.
func ParseEnvFile(r io.Reader, name string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' {
			continue
		}
		kv, ok, err := parseEnv(line, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		if ok {
			out = append(out, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return out, nil
}

func parseEnv(s string, lookup func(string) (string, bool)) (string, bool, error) {
	k, v, hasValue := strings.Cut(s, "=")
	if !envKeyRE.MatchString(k) || strings.ContainsAny(k, " \t") {
		return "", false, fmt.Errorf("invalid variable name %q", k)
	}
	if strings.ContainsRune(v, 0) {
		return "", false, fmt.Errorf("value of %s contains a NUL byte", k)
	}
	if hasValue {
		return k + "=" + v, true, nil
	}
	if hv, ok := lookup(k); ok {
		return k + "=" + hv, true, nil
	}
	return "", false, nil // docker drops unset variables
}

func checkDest(dst, what string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("%s: destination %q must be an absolute path", what, dst)
	}
	c := path.Clean(dst)
	if c == "/" {
		return fmt.Errorf("%s: cannot mount over / (use --read-only or a different image)", what)
	}
	if c == "/proc" || strings.HasPrefix(c, "/proc/") {
		return fmt.Errorf("%s: mounting over %s is not allowed (it could hide /proc masks)", what, c)
	}
	return nil
}

var propagations = map[string]bool{"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true}

// ParseVolume parses -v SRC:DST[:OPTS]. Only host paths are supported.
func ParseVolume(v string) (Mount, error) {
	parts := strings.Split(v, ":")
	what := fmt.Sprintf("-v %q", v)
	if len(parts) < 2 || len(parts) > 3 {
		if len(parts) == 1 {
			return Mount{}, fmt.Errorf("%s: anonymous volumes are not supported; use -v /host/path:/container/path or --tmpfs %s", what, v)
		}
		return Mount{}, fmt.Errorf("%s: use SRC:DST[:OPTIONS]", what)
	}
	src, dst := parts[0], parts[1]
	if !path.IsAbs(src) {
		return Mount{}, fmt.Errorf("%s: named volumes are not supported; the source must be an absolute host path", what)
	}
	if err := checkDest(dst, what); err != nil {
		return Mount{}, err
	}
	m := Mount{Mount: specs.Mount{Type: "bind", Source: path.Clean(src), Destination: path.Clean(dst)}}
	var mode, prop string
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch {
			case o == "ro" || o == "rw":
				if mode != "" {
					return Mount{}, fmt.Errorf("%s: ro/rw given twice", what)
				}
				mode = o
			case o == "z" || o == "Z":
				if m.Relabel != "" {
					return Mount{}, fmt.Errorf("%s: z and Z cannot be combined", what)
				}
				m.Relabel = o
			case propagations[o]:
				if prop != "" {
					return Mount{}, fmt.Errorf("%s: more than one propagation mode", what)
				}
				prop = o
			case o == "nocopy" || o == "consistent" || o == "cached" || o == "delegated":
				// docker accepts these and they change nothing on Linux.
			default:
				return Mount{}, fmt.Errorf("%s: unknown option %q (use ro, rw, z, Z or a propagation mode: %s)", what, o, "private, rprivate, shared, rshared, slave, rslave")
			}
		}
	}
	if prop == "" {
		prop = "rprivate"
	}
	m.Options = []string{"rbind", prop}
	if mode == "ro" {
		m.Options = append(m.Options, "ro")
	}
	return m, nil
}

// ParseMount parses --mount type=bind|tmpfs,... in docker's CSV syntax.
func ParseMount(v string) (Mount, error) {
	what := fmt.Sprintf("--mount %q", v)
	r := csv.NewReader(strings.NewReader(v))
	fields, err := r.Read()
	if err != nil {
		return Mount{}, fmt.Errorf("%s: %v", what, err)
	}
	kv := map[string]string{}
	var ro *bool
	for _, f := range fields {
		k, val, has := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "readonly", "ro":
			b := true
			if has {
				if b, err = strconv.ParseBool(val); err != nil {
					return Mount{}, fmt.Errorf("%s: %s takes true or false", what, k)
				}
			}
			ro = &b
			continue
		case "type", "source", "src", "target", "destination", "dst", "bind-propagation", "tmpfs-size", "tmpfs-mode", "relabel", "consistency":
		default:
			return Mount{}, fmt.Errorf("%s: unknown key %q (use type, source, target, readonly, bind-propagation, tmpfs-size, tmpfs-mode, relabel)", what, k)
		}
		if !has {
			return Mount{}, fmt.Errorf("%s: %s needs a value", what, k)
		}
		switch k {
		case "src":
			k = "source"
		case "destination", "dst":
			k = "target"
		}
		if _, dup := kv[k]; dup {
			return Mount{}, fmt.Errorf("%s: %s given twice", what, k)
		}
		kv[k] = val
	}
	dst := kv["target"]
	if dst == "" {
		return Mount{}, fmt.Errorf("%s: target is required", what)
	}
	if err := checkDest(dst, what); err != nil {
		return Mount{}, err
	}
	m := Mount{Mount: specs.Mount{Destination: path.Clean(dst)}}
	switch kv["type"] {
	case "bind":
		src := kv["source"]
		if !path.IsAbs(src) {
			return Mount{}, fmt.Errorf("%s: a bind mount needs an absolute source path", what)
		}
		if kv["tmpfs-size"] != "" || kv["tmpfs-mode"] != "" {
			return Mount{}, fmt.Errorf("%s: tmpfs options on a bind mount", what)
		}
		prop := kv["bind-propagation"]
		if prop == "" {
			prop = "rprivate"
		} else if !propagations[prop] {
			return Mount{}, fmt.Errorf("%s: bind-propagation %q (use private, rprivate, shared, rshared, slave, rslave)", what, prop)
		}
		switch kv["relabel"] {
		case "":
		case "shared":
			m.Relabel = "z"
		case "private":
			m.Relabel = "Z"
		default:
			return Mount{}, fmt.Errorf("%s: relabel takes shared or private", what)
		}
		m.Type, m.Source = "bind", path.Clean(src)
		m.Options = []string{"rbind", prop}
		if ro != nil && *ro {
			m.Options = append(m.Options, "ro")
		}
	case "tmpfs":
		if kv["source"] != "" || kv["bind-propagation"] != "" || kv["relabel"] != "" {
			return Mount{}, fmt.Errorf("%s: source, bind-propagation and relabel do not apply to tmpfs", what)
		}
		m.Type, m.Source = "tmpfs", "tmpfs"
		m.Options = []string{"nosuid", "nodev", "noexec"}
		if s := kv["tmpfs-size"]; s != "" {
			n, err := units.ParseBytes(s)
			if err != nil || n <= 0 {
				return Mount{}, fmt.Errorf("%s: invalid tmpfs-size %q", what, s)
			}
			m.Options = append(m.Options, "size="+strconv.FormatInt(n, 10))
		}
		if s := kv["tmpfs-mode"]; s != "" {
			n, err := strconv.ParseUint(s, 8, 32)
			if err != nil || n > 07777 {
				return Mount{}, fmt.Errorf("%s: invalid tmpfs-mode %q (octal, e.g. 1777)", what, s)
			}
			m.Options = append(m.Options, fmt.Sprintf("mode=%o", n))
		}
		if ro != nil && *ro {
			m.Options = append(m.Options, "ro")
		}
	case "":
		return Mount{}, fmt.Errorf("%s: type is required (bind or tmpfs)", what)
	case "volume":
		return Mount{}, fmt.Errorf("%s: named volumes are not supported; use type=bind with a host path, or type=tmpfs", what)
	default:
		return Mount{}, fmt.Errorf("%s: unsupported type %q (use bind or tmpfs)", what, kv["type"])
	}
	return m, nil
}

var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true,
	"dev": true, "nodev": true, "sync": true, "async": true, "atime": true, "noatime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true,
	"diratime": true, "nodiratime": true, "private": true, "rprivate": true, "shared": true,
	"rshared": true, "slave": true, "rslave": true,
}

var tmpfsData = map[string]bool{"size": true, "mode": true, "uid": true, "gid": true, "nr_inodes": true, "nr_blocks": true, "huge": true, "mpol": true}

// ParseTmpfs parses --tmpfs DST[:OPTIONS]. Defaults are docker's
// nosuid,nodev,noexec; an explicit suid/dev/exec replaces its default.
func ParseTmpfs(v string) (Mount, error) {
	what := fmt.Sprintf("--tmpfs %q", v)
	dst, opts, _ := strings.Cut(v, ":")
	if err := checkDest(dst, what); err != nil {
		return Mount{}, err
	}
	def := map[string]string{"suid": "nosuid", "dev": "nodev", "exec": "noexec"}
	var user []string
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			k, val, has := strings.Cut(o, "=")
			switch {
			case has && tmpfsData[k] && val != "":
				if k == "size" {
					if _, err := units.ParseBytes(strings.TrimSuffix(val, "%")); err != nil {
						return Mount{}, fmt.Errorf("%s: invalid size %q", what, val)
					}
				}
				if k == "mode" {
					if _, err := strconv.ParseUint(val, 8, 32); err != nil {
						return Mount{}, fmt.Errorf("%s: invalid mode %q (octal)", what, val)
					}
				}
			case !has && tmpfsFlags[o]:
				delete(def, strings.TrimPrefix(o, "no"))
			default:
				return Mount{}, fmt.Errorf("%s: unknown tmpfs option %q", what, o)
			}
			user = append(user, o)
		}
	}
	var out []string
	for _, k := range []string{"suid", "dev", "exec"} {
		if d, ok := def[k]; ok {
			out = append(out, d)
		}
	}
	return Mount{Mount: specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: path.Clean(dst), Options: append(out, user...)}}, nil
}

// ParseCPUs converts --cpus into a CFS quota over a 100ms period, exactly
// (no float rounding), as docker's NanoCPUs does.
func ParseCPUs(s string) (quota int64, period uint64, err error) {
	s = strings.TrimSpace(s)
	// Plain decimals only: big.Rat would also take "1e999999999" and spend
	// minutes computing it.
	if !cpusRE.MatchString(s) {
		return 0, 0, errors.New("use a positive number such as 0.5 or 2")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return 0, 0, errors.New("use a positive number such as 0.5 or 2")
	}
	const p = 100000
	q := new(big.Rat).Mul(r, big.NewRat(p, 1))
	if !q.IsInt() && q.Cmp(big.NewRat(1000, 1)) < 0 {
		return 0, 0, errors.New("the smallest value is 0.01")
	}
	n := new(big.Int).Quo(q.Num(), q.Denom())
	if !n.IsInt64() || n.Int64() < 1000 || n.Int64() > 1024*p {
		return 0, 0, errors.New("the range is 0.01 to 1024")
	}
	return n.Int64(), p, nil
}

var rlimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
	"rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
	"stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}

// ParseUlimit parses NAME=SOFT[:HARD]; -1 or "unlimited" means no limit.
func ParseUlimit(s string) (specs.POSIXRlimit, error) {
	what := fmt.Sprintf("--ulimit %q", s)
	name, val, ok := strings.Cut(s, "=")
	typ, known := rlimitNames[strings.ToLower(name)]
	if !ok || val == "" {
		return specs.POSIXRlimit{}, fmt.Errorf("%s: use NAME=SOFT[:HARD], e.g. nofile=1024:2048", what)
	}
	if !known {
		return specs.POSIXRlimit{}, fmt.Errorf("%s: unknown limit %q (one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, as)", what, name)
	}
	num := func(v string) (uint64, error) {
		if v == "-1" || v == "unlimited" {
			return math.MaxUint64, nil
		}
		return strconv.ParseUint(v, 10, 64)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	soft, err := num(softS)
	if err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("%s: invalid soft limit %q", what, softS)
	}
	hard := soft
	if hasHard {
		if hard, err = num(hardS); err != nil {
			return specs.POSIXRlimit{}, fmt.Errorf("%s: invalid hard limit %q", what, hardS)
		}
	}
	if soft > hard {
		return specs.POSIXRlimit{}, fmt.Errorf("%s: soft limit %s is above hard limit %s", what, softS, hardS)
	}
	return specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard}, nil
}

var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// ParseSysctl parses KEY=VALUE and refuses keys that are not namespaced or
// whose namespace is shared with the host or another container, since
// setting them would change something outside this container.
func ParseSysctl(s string, ns Namespaces) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("--sysctl %q: use KEY=VALUE", s)
	}
	k = strings.ReplaceAll(k, "/", ".")
	var owner NSMode
	var nsName string
	switch {
	case ipcSysctls[k] || strings.HasPrefix(k, "fs.mqueue."):
		owner, nsName = ns.IPC, "ipc"
	case strings.HasPrefix(k, "net."):
		owner, nsName = ns.Net, "network"
	case k == "kernel.hostname" || k == "kernel.domainname":
		owner, nsName = ns.UTS, "uts"
	default:
		return "", "", fmt.Errorf("--sysctl %q: %s is not namespaced, so setting it would change the host; only IPC (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*), net.* and kernel.hostname/domainname are allowed", s, k)
	}
	if owner.Mode == "host" || owner.Mode == "container" {
		return "", "", fmt.Errorf("--sysctl %q: cannot be set with --%s=%s (the namespace is not the container's own)", s, nsName, owner)
	}
	return k, v, nil
}

// ParseDevice parses --device HOST[:CONTAINER][:PERMISSIONS].
func ParseDevice(s string) (DeviceRequest, error) {
	what := fmt.Sprintf("--device %q", s)
	parts := strings.Split(s, ":")
	d := DeviceRequest{Access: "rwm"}
	switch len(parts) {
	case 1:
		d.Host, d.Container = parts[0], parts[0]
	case 2:
		d.Host = parts[0]
		if validAccess(parts[1]) && !strings.HasPrefix(parts[1], "/") {
			d.Container, d.Access = parts[0], parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Host, d.Container, d.Access = parts[0], parts[1], parts[2]
	default:
		return d, fmt.Errorf("%s: use HOST[:CONTAINER][:PERMISSIONS]", what)
	}
	if !path.IsAbs(d.Host) || !path.IsAbs(d.Container) {
		return d, fmt.Errorf("%s: device paths must be absolute", what)
	}
	if !validAccess(d.Access) {
		return d, fmt.Errorf("%s: permissions %q must be a combination of r, w and m", what, d.Access)
	}
	d.Host, d.Container = path.Clean(d.Host), path.Clean(d.Container)
	return d, nil
}

func validAccess(a string) bool {
	if a == "" || len(a) > 3 {
		return false
	}
	for _, c := range a {
		if !strings.ContainsRune("rwm", c) || strings.Count(a, string(c)) > 1 {
			return false
		}
	}
	return true
}
