// Package export turns a recorded profile.Profile into enforcement: brig
// run flags, a Docker-format seccomp profile, Landlock rules, a Kubernetes
// securityContext and an SELinux module. It is separate from package
// profile so the recorder does not pull in the exporters' dependencies.
package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"sigs.k8s.io/yaml"

	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/profile"
	"github.com/brigrt/brig/internal/selinux/policygen"
)

// BaseSyscalls are allowed in every exported seccomp profile: what a
// runtime's init does between loading the filter and the container's
// execve (brig's init: capset, prctl, Landlock, the exec label, execve;
// runc and crun: setgroups/setuid, chdir, close_range), and what the Go
// runtime of such an init may call meanwhile. The recording begins at the
// container's execve, so these are never in it. The list follows the
// Security Profiles Operator's `spoc record --base-syscalls` default, plus
// Landlock's three syscalls.
var BaseSyscalls = []string{
	"access", "arch_prctl", "brk", "capget", "capset", "chdir", "close",
	"close_range", "dup2", "dup3", "epoll_ctl", "epoll_pwait", "execve",
	"exit", "exit_group", "faccessat2", "fchdir", "fchown", "fcntl", "fstat",
	"fstatfs", "futex", "getcwd", "getdents64", "getegid", "geteuid",
	"getgid", "getpid", "getppid", "getrandom", "gettid", "getuid", "ioctl",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
	"lseek", "madvise", "mmap", "mprotect", "munmap", "nanosleep",
	"newfstatat", "openat", "openat2", "prctl", "prlimit64", "read",
	"readlink", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sched_yield", "set_robust_list", "set_tid_address", "setgid",
	"setgroups", "setresgid", "setresuid", "setuid", "sigaltstack", "tgkill",
	"umask", "write",
}

// Flags are the brig run flags that enforce the profile's capabilities
// (and, when given, the seccomp file and Landlock rules).
func Flags(p *profile.Profile, seccompPath string, ll *landlock.Rules) []string {
	f := []string{"--cap-drop", "ALL"}
	for _, c := range p.Used() {
		f = append(f, "--cap-add", strings.TrimPrefix(c, "CAP_"))
	}
	if seccompPath != "" {
		f = append(f, "--security-opt", "seccomp="+seccompPath)
	}
	if ll != nil && !ll.Empty() {
		f = append(f, "--security-opt", "landlock="+ll.String())
	}
	return f
}

// ShellQuote joins args for a shell command line.
func ShellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=/.,:+@", r))
		}) < 0 {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// SeccompOptions shape the seccomp export.
type SeccompOptions struct {
	// Errno is returned for syscalls outside the profile: "ENOSYS"
	// (default: libc and runtimes fall back as on an older kernel) or
	// "EPERM".
	Errno string
	// NoBase leaves out BaseSyscalls (for stacking with another profile).
	NoBase bool
	// BlockMPTCP refuses MPTCP sockets (landlock.MPTCPRule): set it when
	// Landlock network rules are enforced too.
	BlockMPTCP bool
}

// Seccomp returns a Docker-format allow-list profile and warnings about
// recorded syscalls it cannot name.
func Seccomp(p *profile.Profile, o SeccompOptions) (*seccomp.Seccomp, []string, error) {
	if p.Arch != "x86_64" {
		return nil, nil, fmt.Errorf("seccomp export supports x86_64 profiles, not %s", p.Arch)
	}
	var errno uint
	switch strings.ToUpper(o.Errno) {
	case "", "ENOSYS":
		errno = 38
	case "EPERM":
		errno = 1
	default:
		return nil, nil, fmt.Errorf("seccomp errno %q: use ENOSYS or EPERM", o.Errno)
	}
	var warn []string
	set := map[string]bool{}
	for _, s := range p.Syscalls {
		if strings.HasPrefix(s, "syscall_") {
			warn = append(warn, fmt.Sprintf("recorded %s has no name in this brig's table: not allowed", s))
			continue
		}
		set[s] = true
	}
	if !o.NoBase {
		for _, s := range BaseSyscalls {
			set[s] = true
		}
	}
	names := make([]string, 0, len(set))
	for s := range set {
		if !(o.BlockMPTCP && s == "socket") {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	prof := &seccomp.Seccomp{
		LinuxSeccomp: specs.LinuxSeccomp{
			DefaultAction:   specs.ActErrno,
			DefaultErrnoRet: &errno,
			Architectures:   []specs.Arch{specs.ArchX86_64},
		},
	}
	prof.Syscalls = append(prof.Syscalls, &seccomp.Syscall{
		LinuxSyscall: specs.LinuxSyscall{Names: names, Action: specs.ActAllow},
		Comment:      "recorded by brig, plus the runtime's base syscalls",
	})
	if o.BlockMPTCP && set["socket"] {
		mptcp := landlock.MPTCPRule()
		allow := mptcp
		allow.Action, allow.ErrnoRet = specs.ActAllow, nil
		allow.Args = []specs.LinuxSeccompArg{{Index: mptcp.Args[0].Index, Value: mptcp.Args[0].Value, Op: specs.OpNotEqual}}
		prof.Syscalls = append(prof.Syscalls,
			&seccomp.Syscall{LinuxSyscall: allow, Comment: "sockets other than MPTCP"},
			&seccomp.Syscall{LinuxSyscall: mptcp, Comment: "MPTCP sockets get past Landlock's TCP rules"})
	}
	return prof, warn, nil
}

// SeccompJSON is Seccomp, indented.
func SeccompJSON(p *profile.Profile, o SeccompOptions) ([]byte, []string, error) {
	s, warn, err := Seccomp(p, o)
	if err != nil {
		return nil, nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return append(b, '\n'), warn, nil
}

// Landlock returns rules allowing the recorded TCP ports and writes:
//   - bind/connect: the TCP ports recorded (MPTCP counts as TCP: programs
//     fall back to TCP when MPTCP is refused); no port means none allowed.
//   - ro: "/", everything stays readable and executable (reads are not
//     recorded).
//   - rw: the directory of each written file (Landlock can only name paths
//     that exist, and a file the container creates does not yet), and each
//     tmpfs mount point written to.
func Landlock(p *profile.Profile) landlock.Rules {
	tcp := func(list []profile.Endpoint) []uint16 {
		var out []uint16
		for _, e := range list {
			if (e.Proto == "tcp" || e.Proto == "mptcp") && e.Port != 0 {
				out = append(out, e.Port)
			}
		}
		return out
	}
	var rw []string
	for _, f := range p.Files.Written {
		rw = append(rw, path.Dir(f))
	}
	rw = append(rw, p.Files.Tmpfs...)
	r := landlock.Rules{
		Net: &landlock.Net{Bind: tcp(p.Network.Bind), Connect: tcp(p.Network.Connect)},
		FS:  &landlock.FS{RO: []string{"/"}, RW: collapse(rw)},
	}
	// Round-trip through the parser: sorted, de-duplicated, validated.
	if parsed, err := landlock.Parse(r.String()); err == nil {
		return parsed
	}
	return r
}

// collapse drops paths beneath another listed path.
func collapse(paths []string) []string {
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		p = filepath.Clean(p)
		covered := false
		for _, q := range out {
			if p == q || q == "/" || strings.HasPrefix(p, q+"/") {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// Kubernetes returns a container securityContext that drops every
// capability but the used ones and points at a Localhost seccomp profile
// stored as <kubelet root>/seccomp/<localhostProfile>.
func Kubernetes(p *profile.Profile, localhostProfile string) ([]byte, error) {
	add := []string{}
	for _, c := range p.Used() {
		add = append(add, strings.TrimPrefix(c, "CAP_"))
	}
	sc := map[string]any{
		"securityContext": map[string]any{
			"capabilities": map[string]any{"drop": []string{"ALL"}, "add": add},
			"seccompProfile": map[string]any{
				"type":             "Localhost",
				"localhostProfile": localhostProfile,
			},
		},
	}
	b, err := yaml.Marshal(sc)
	if err != nil {
		return nil, err
	}
	head := "# Container securityContext generated by brig from a recorded profile.\n" +
		"# Copy the seccomp profile to <kubelet root>/seccomp/" + localhostProfile + " on every node\n" +
		"# (default /var/lib/kubelet/seccomp/" + localhostProfile + ").\n"
	return append([]byte(head), b...), nil
}

// SELinux writes a policy module (refpolicy .te, or CIL when cil is set)
// for a domain NAME_t that holds the used capabilities and the recorded
// TCP/UDP ports, through brig policy generate's generator.
func SELinux(p *profile.Profile, name string, cil bool) ([]byte, error) {
	s := policygen.Spec{Name: name, Caps: p.Used(), Source: "brig profile export"}
	if len(p.Command) > 0 {
		s.Source += " (recorded: " + strings.Join(p.Command, " ") + ")"
	}
	add := func(list []profile.Endpoint, connect bool) {
		for _, e := range list {
			if e.Proto != "tcp" && e.Proto != "udp" && e.Proto != "mptcp" {
				continue
			}
			s.Network = true
			if connect && e.Port == 53 {
				s.DNS = true
				continue
			}
			if e.Port == 0 { // an ephemeral port: no port type to name
				continue
			}
			proto := e.Proto
			if proto == "mptcp" {
				proto = "tcp"
			}
			s.Ports = append(s.Ports, policygen.Port{Proto: proto, Port: int(e.Port), Connect: connect})
		}
	}
	add(p.Network.Bind, false)
	add(p.Network.Connect, true)
	if err := s.Normalize(nil); err != nil {
		return nil, fmt.Errorf("selinux export: %w", err)
	}
	var b bytes.Buffer
	var err error
	if cil {
		err = s.WriteCIL(&b)
	} else {
		err = s.WriteTE(&b)
	}
	return b.Bytes(), err
}

// Summary is a short human view: one line per area.
func Summary(p *profile.Profile) string {
	var b strings.Builder
	used := p.Used()
	fmt.Fprintf(&b, "capabilities used: %s\n", orNone(short(used)))
	var denied []string
	for _, c := range p.Capabilities {
		if c.Denied > 0 {
			denied = append(denied, c.Name+"×"+strconv.FormatUint(c.Denied, 10))
		}
	}
	if len(denied) > 0 {
		fmt.Fprintf(&b, "capabilities denied: %s\n", strings.Join(short(denied), " "))
	}
	fmt.Fprintf(&b, "syscalls: %d\n", len(p.Syscalls))
	fmt.Fprintf(&b, "bind: %s\n", orNone(eps(p.Network.Bind)))
	fmt.Fprintf(&b, "connect: %s\n", orNone(eps(p.Network.Connect)))
	fmt.Fprintf(&b, "written: %s\n", orNone(strings.Join(p.Files.Written, " ")))
	if len(p.Files.Tmpfs) > 0 {
		fmt.Fprintf(&b, "tmpfs written: %s\n", strings.Join(p.Files.Tmpfs, " "))
	}
	return b.String()
}

func short(list []string) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = strings.TrimPrefix(c, "CAP_")
	}
	return out
}

func eps(list []profile.Endpoint) string {
	s := make([]string, len(list))
	for i, e := range list {
		s[i] = e.String()
	}
	return strings.Join(s, " ")
}

func orNone(s any) string {
	switch v := s.(type) {
	case []string:
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(v, " ")
	case string:
		if v == "" {
			return "none"
		}
		return v
	}
	return fmt.Sprint(s)
}

// Options for WriteAll.
type Options struct {
	Name    string // base name of the files and the SELinux module
	Seccomp SeccompOptions
	CIL     bool // SELinux module as CIL instead of a refpolicy .te
}

// WriteAll writes every export of p into dir and returns the files written
// and the warnings. The seccomp profile is NAME.json, beside the Kubernetes
// snippet that points at it as profiles/NAME.json.
func WriteAll(p *profile.Profile, dir string, o Options) ([]string, []string, error) {
	if o.Name == "" {
		return nil, nil, fmt.Errorf("export: no name given")
	}
	ll := Landlock(p)
	sc, warn, err := SeccompJSON(p, o.Seccomp)
	if err != nil {
		return nil, nil, err
	}
	seccompFile := filepath.Join(dir, o.Name+".json")
	k8s, err := Kubernetes(p, "profiles/"+o.Name+".json")
	if err != nil {
		return nil, nil, err
	}
	ext := ".te"
	if o.CIL {
		ext = ".cil"
	}
	se, err := SELinux(p, o.Name, o.CIL)
	if err != nil {
		warn = append(warn, fmt.Sprintf("SELinux module not written: %v", err))
	}
	abs, err := filepath.Abs(seccompFile)
	if err != nil {
		return nil, nil, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{seccompFile, sc},
		{filepath.Join(dir, o.Name+".flags"), []byte(ShellQuote(Flags(p, abs, &ll)) + "\n")},
		{filepath.Join(dir, o.Name+".landlock"), []byte(ll.String() + "\n")},
		{filepath.Join(dir, o.Name+".k8s.yaml"), k8s},
	}
	if se != nil {
		files = append(files, struct {
			name string
			data []byte
		}{filepath.Join(dir, o.Name+ext), se})
	}
	var written []string
	for _, f := range files {
		if err := os.WriteFile(f.name, f.data, 0o644); err != nil {
			return written, warn, err
		}
		written = append(written, f.name)
	}
	return written, warn, nil
}
