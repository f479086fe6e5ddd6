// Package runtime is brig's OCI runtime core: it turns a bundle into a
// running container and manages it afterwards (runc's lifecycle: create,
// start, state, kill, delete, exec, ps, pause, resume).
//
// The package is shared by brig-runtime (engines) and brig (people), so its
// import graph stays lean: it runs for every container start.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/specjson"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LoadBundle reads and validates BUNDLE/config.json. Nothing on the system
// is touched before the spec has passed Validate.
func LoadBundle(bundle string) (*specs.Spec, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, err
	}
	data, err := readFile(filepath.Join(abs, "config.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("bundle %s has no config.json", abs)
		}
		return nil, fmt.Errorf("read config.json: %w", err)
	}
	var s specs.Spec
	if err := specjson.DecodeSpec(data, &s); err != nil {
		return nil, fmt.Errorf("config.json is not valid JSON: %w", err)
	}
	if s.Root != nil && s.Root.Path != "" && !filepath.IsAbs(s.Root.Path) {
		s.Root.Path = filepath.Join(abs, s.Root.Path)
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ValidID rejects ids that could escape the state directory.
func ValidID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if len(id) > 1024 || !validIDChars(id) {
		return fmt.Errorf("invalid container id %q: use letters, digits and _+.- only", id)
	}
	return nil
}

// validIDChars is ^[A-Za-z0-9][A-Za-z0-9_+.-]*$ without linking regexp.
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_+.-", rune(c))) {
			return false
		}
	}
	return true
}

var nsTypes = map[specs.LinuxNamespaceType]bool{
	specs.PIDNamespace: true, specs.NetworkNamespace: true, specs.MountNamespace: true,
	specs.IPCNamespace: true, specs.UTSNamespace: true, specs.UserNamespace: true,
	specs.CgroupNamespace: true, specs.TimeNamespace: true,
}

// Validate checks a spec for everything that can be known without touching
// the kernel, so bad input fails before any state exists.
func Validate(s *specs.Spec) error {
	if s.Version == "" {
		return errors.New("config.json: ociVersion is missing")
	}
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("config.json: root.path is missing")
	}
	st, err := os.Stat(s.Root.Path)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", s.Root.Path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("rootfs %s is not a directory", s.Root.Path)
	}
	if s.Process == nil {
		return errors.New("config.json: process is missing")
	}
	if err := ValidateProcess(s.Process); err != nil {
		return err
	}
	if s.Linux == nil {
		return errors.New("config.json: linux section is missing")
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range s.Linux.Namespaces {
		if !nsTypes[ns.Type] {
			return fmt.Errorf("config.json: unknown namespace type %q", ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("config.json: namespace %q listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fmt.Errorf("config.json: namespace %s path %q must be absolute", ns.Type, ns.Path)
		}
	}
	if (len(s.Linux.UIDMappings) > 0 || len(s.Linux.GIDMappings) > 0) && !seen[specs.UserNamespace] {
		return errors.New("config.json: uid/gid mappings need a user namespace")
	}
	if s.Hostname != "" && !hasNewNS(s, specs.UTSNamespace) {
		return errors.New("config.json: hostname needs a new uts namespace")
	}
	for _, m := range s.Mounts {
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("config.json: mount destination %q must be absolute", m.Destination)
		}
	}
	for k := range s.Linux.Sysctl {
		if err := validSysctl(s, k); err != nil {
			return err
		}
	}
	for _, p := range append(append([]string{}, s.Linux.MaskedPaths...), s.Linux.ReadonlyPaths...) {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("config.json: masked/readonly path %q must be absolute", p)
		}
	}
	if s.Linux.RootfsPropagation != "" {
		if _, ok := propagation[s.Linux.RootfsPropagation]; !ok {
			return fmt.Errorf("config.json: unknown rootfsPropagation %q", s.Linux.RootfsPropagation)
		}
	}
	if sc := s.Linux.Seccomp; sc != nil && sc.DefaultAction == "" {
		return errors.New("config.json: seccomp.defaultAction is missing")
	}
	if p := s.Linux.Personality; p != nil && p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		return fmt.Errorf("config.json: unknown personality domain %q", p.Domain)
	}
	if h := s.Hooks; h != nil {
		//lint:ignore SA1019 prestart is deprecated but engines still send it
		for _, list := range [][]specs.Hook{h.Prestart, h.CreateRuntime, h.CreateContainer, h.StartContainer, h.Poststart, h.Poststop} {
			for _, hk := range list {
				if !filepath.IsAbs(hk.Path) {
					return fmt.Errorf("config.json: hook path %q must be absolute", hk.Path)
				}
			}
		}
	}
	return nil
}

// ValidateProcess checks a process section (also used for exec --process).
func ValidateProcess(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return errors.New("process.args is empty")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	}
	if c := p.Capabilities; c != nil {
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			for _, n := range set {
				if _, err := caps.Parse(n); err != nil {
					return fmt.Errorf("process.capabilities: %w", err)
				}
			}
		}
	}
	for _, r := range p.Rlimits {
		if _, ok := rlimitNames[r.Type]; !ok {
			return fmt.Errorf("process.rlimits: unknown type %q", r.Type)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("process.rlimits: %s soft limit %d is above hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	for _, e := range p.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("process.env entry %q has no '='", e)
		}
	}
	return nil
}

func hasNewNS(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// validSysctl allows only sysctls that are namespaced by a namespace the
// container owns, as runc does: anything else would change the host.
func validSysctl(s *specs.Spec, k string) error {
	switch {
	case strings.HasPrefix(k, "net."):
		if hasNewNS(s, specs.NetworkNamespace) {
			return nil
		}
		return fmt.Errorf("sysctl %q needs a private network namespace", k)
	case strings.HasPrefix(k, "fs.mqueue."), strings.HasPrefix(k, "kernel.msg"),
		strings.HasPrefix(k, "kernel.sem"), strings.HasPrefix(k, "kernel.shm"):
		if hasNewNS(s, specs.IPCNamespace) {
			return nil
		}
		return fmt.Errorf("sysctl %q needs a private ipc namespace", k)
	case k == "kernel.hostname", k == "kernel.domainname":
		if hasNewNS(s, specs.UTSNamespace) {
			return nil
		}
		return fmt.Errorf("sysctl %q needs a private uts namespace", k)
	}
	return fmt.Errorf("sysctl %q is not namespaced; refusing to change the host", k)
}

// rlimitNames maps OCI rlimit names to RLIMIT_* numbers.
var rlimitNames = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
	"RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
	"RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
	"RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// propagation maps rootfsPropagation and mount options to mount flags.
var propagation = map[string]uintptr{
	"private": msPrivate, "rprivate": msPrivate | msRec,
	"shared": msShared, "rshared": msShared | msRec,
	"slave": msSlave, "rslave": msSlave | msRec,
	"unbindable": msUnbindable, "runbindable": msUnbindable | msRec,
}

// Flag values from <sys/mount.h>, spelled out so this file stays portable.
const (
	msRec        = 0x4000
	msPrivate    = 1 << 18
	msSlave      = 1 << 19
	msShared     = 1 << 20
	msUnbindable = 1 << 17
)
