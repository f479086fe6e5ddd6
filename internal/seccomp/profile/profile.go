// Package profile loads Docker-format seccomp profiles (Docker's default or
// a JSON file) and resolves their conditional rules for a container's
// capabilities, architecture and kernel into the runtime-spec form that
// package seccomp compiles.
//
// The profile types and Docker's default profile come from
// github.com/moby/profiles/seccomp. Resolve follows moby's own resolution
// (GetDefaultProfile/LoadProfile) but takes the architecture and kernel as
// inputs instead of reading them from the host, so the CLI can prepare a
// profile for another machine; the tests check both agree on this host.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/seccomp"
	mseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Profile is a Docker-format profile, with conditional rules.
type Profile = mseccomp.Seccomp

// Load reads a Docker-format profile from a JSON file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a Docker-format profile. Unknown fields are errors (they
// are usually typos that would silently weaken the profile), and errors
// carry the line and column.
func Parse(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, jsonError(data, dec.InputOffset(), err)
	}
	if dec.More() {
		return nil, jsonError(data, dec.InputOffset(), errors.New("unexpected data after the profile"))
	}
	for i, s := range p.Syscalls {
		if s == nil {
			return nil, fmt.Errorf("syscalls[%d] is null", i)
		}
	}
	return &p, nil
}

// jsonError adds "line L, column C" to a decoding error.
func jsonError(data []byte, fallback int64, err error) error {
	off := fallback
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Options select which conditional rules apply.
type Options struct {
	// Caps is the container's bounding set, in any spelling package caps
	// accepts ("CAP_SYS_ADMIN", "sys_admin").
	Caps []string
	// Arch is a GOARCH value; empty means the running one.
	Arch string
	// Kernel is a "major.minor" version or a uname release
	// ("6.1.0-18-amd64"); empty means the running kernel.
	Kernel string
}

// goToSeccomp maps GOARCH to the profile's architecture names, as moby does.
var goToSeccomp = map[string]struct {
	native string // the name used by includes/excludes "arches"
	arch   specs.Arch
}{
	"386":         {"x86", specs.ArchX86},
	"amd64":       {"amd64", specs.ArchX86_64},
	"arm":         {"arm", specs.ArchARM},
	"arm64":       {"arm64", specs.ArchAARCH64},
	"loong64":     {"loongarch64", specs.ArchLOONGARCH64},
	"mips64":      {"mips64", specs.ArchMIPS64},
	"mips64p32":   {"mips64n32", specs.ArchMIPS64N32},
	"mips64le":    {"mipsel64", specs.ArchMIPSEL64},
	"mips64p32le": {"mips3l64n32", specs.ArchMIPSEL64N32},
	"mipsle":      {"mipsel", specs.ArchMIPSEL},
	"ppc":         {"ppc", specs.ArchPPC},
	"ppc64":       {"ppc64", specs.ArchPPC64},
	"ppc64le":     {"ppc64le", specs.ArchPPC64LE},
	"riscv64":     {"riscv64", specs.ArchRISCV64},
	"s390":        {"s390", specs.ArchS390},
	"s390x":       {"s390x", specs.ArchS390X},
}

// Resolve applies p's includes/excludes for o and returns the runtime-spec
// config, validated by compiling it. A profile with neither a default
// action nor rules means "no seccomp" and resolves to nil, as in Docker.
// p is not modified.
func Resolve(p *Profile, o Options) (*specs.LinuxSeccomp, error) {
	if p == nil || (p.DefaultAction == "" && len(p.Syscalls) == 0) {
		return nil, nil
	}
	if p.DefaultAction == "" {
		return nil, errors.New("seccomp profile: defaultAction is missing")
	}
	if len(p.Architectures) != 0 && len(p.ArchMap) != 0 {
		return nil, errors.New("seccomp profile: both 'architectures' and 'archMap' are specified, use one")
	}
	if len(p.LinuxSeccomp.Syscalls) != 0 {
		return nil, errors.New("seccomp profile: the runtime-spec syscalls field must be empty (rules go in Syscalls)")
	}
	goarch := o.Arch
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	arch, ok := goToSeccomp[goarch]
	if !ok {
		return nil, fmt.Errorf("seccomp profile: unknown architecture %q", goarch)
	}
	kernel, err := parseKernel(o.Kernel)
	if err != nil {
		return nil, err
	}
	bounding := make([]string, 0, len(o.Caps))
	for _, c := range o.Caps {
		cp, err := caps.Parse(c)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile: %w", err)
		}
		bounding = append(bounding, cp.Name())
	}

	out := p.LinuxSeccomp // copy; slices are cloned below before appending
	out.Architectures = slices.Clone(p.Architectures)
	out.Flags = slices.Clone(p.Flags)
	out.Syscalls = nil
	for _, a := range p.ArchMap {
		if a.Arch == arch.arch {
			out.Architectures = append(out.Architectures, a.Arch)
			out.Architectures = append(out.Architectures, a.SubArches...)
			break
		}
	}
	for i, s := range p.Syscalls {
		call := s.LinuxSyscall
		//lint:ignore SA1019 old profiles still use "name"; moby accepts it too
		if name := s.Name; name != "" {
			if len(s.Names) != 0 {
				return nil, fmt.Errorf("seccomp profile: syscalls[%d]: both 'name' and 'names' are specified, use 'names'", i)
			}
			call.Names = []string{name}
		}
		if ok, err := applies(s, arch.native, bounding, kernel); err != nil {
			return nil, fmt.Errorf("seccomp profile: syscalls[%d]: %w", i, err)
		} else if ok {
			out.Syscalls = append(out.Syscalls, call)
		}
	}
	if _, err := seccomp.Compile(&out); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return &out, nil
}

// applies is moby's includes/excludes test: excludes match on any listed
// arch or capability or a kernel at least MinKernel; includes need the
// arch, every capability and a kernel at least MinKernel.
func applies(s *mseccomp.Syscall, arch string, bounding []string, kernel mseccomp.KernelVersion) (bool, error) {
	if x := s.Excludes; x != nil {
		if slices.Contains(x.Arches, arch) {
			return false, nil
		}
		for _, c := range x.Caps {
			if slices.Contains(bounding, c) {
				return false, nil
			}
		}
		if x.MinKernel != nil && kernelAtLeast(kernel, *x.MinKernel) {
			return false, nil
		}
	}
	if in := s.Includes; in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, arch) {
			return false, nil
		}
		for _, c := range in.Caps {
			if !slices.Contains(bounding, c) {
				return false, nil
			}
		}
		if in.MinKernel != nil && !kernelAtLeast(kernel, *in.MinKernel) {
			return false, nil
		}
	}
	return true, nil
}

func kernelAtLeast(k, min mseccomp.KernelVersion) bool {
	return k.Kernel > min.Kernel || (k.Kernel == min.Kernel && k.Major >= min.Major)
}

// parseKernel reads "major.minor[anything]"; empty means uname(2).
func parseKernel(v string) (mseccomp.KernelVersion, error) {
	if v == "" {
		var uts unix.Utsname
		if err := unix.Uname(&uts); err != nil {
			return mseccomp.KernelVersion{}, fmt.Errorf("seccomp profile: uname: %w", err)
		}
		v = unix.ByteSliceToString(uts.Release[:])
	}
	var k mseccomp.KernelVersion
	if _, err := fmt.Sscanf(v, "%d.%d", &k.Kernel, &k.Major); err != nil {
		return k, fmt.Errorf("seccomp profile: kernel version %q: want major.minor (e.g. 6.1)", v)
	}
	return k, nil
}

// DefaultFor is Docker's default profile resolved for o.
func DefaultFor(o Options) (*specs.LinuxSeccomp, error) {
	p := Default()
	if p == nil {
		return nil, errors.New("seccomp profile: Docker's default profile is only built into Linux binaries")
	}
	return Resolve(p, o)
}
