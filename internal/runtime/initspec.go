package runtime

import (
	"fmt"

	"github.com/brigrt/brig/internal/runtime/wire"
	"github.com/brigrt/brig/internal/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// initSpec is the part of the spec the container's init acts on, with the
// seccomp profile already compiled to BPF. The init is sent this rather
// than the whole spec: before internal/specjson, encoding/json built an
// encoder for every type reachable from what it decoded, and specs.Spec's
// graph (resources, Windows, VM, ...) cost every init about a millisecond.
type initSpec = wire.InitSpec

// newInitSpec extracts what the init needs from a validated spec and
// compiles its seccomp profile, so a bad profile fails here, in the
// runtime, before the init is told to go on.
func newInitSpec(s *specs.Spec) (*initSpec, error) {
	is := &initSpec{Mounts: s.Mounts, Hostname: s.Hostname, Domainname: s.Domainname, Annotations: s.Annotations}
	if s.Root != nil {
		is.Root = *s.Root
	}
	if h := s.Hooks; h != nil {
		is.CreateContainer, is.StartContainer = h.CreateContainer, h.StartContainer
	}
	if l := s.Linux; l != nil {
		is.Devices, is.Sysctl = l.Devices, l.Sysctl
		is.MaskedPaths, is.ReadonlyPaths = l.MaskedPaths, l.ReadonlyPaths
		is.MountLabel, is.Propagation, is.Personality = l.MountLabel, l.RootfsPropagation, l.Personality
		if l.Seccomp != nil {
			p, err := seccomp.Compile(l.Seccomp)
			if err != nil {
				return nil, fmt.Errorf("seccomp: %w", err)
			}
			is.Seccomp, is.SeccompFlags = p.Bytes(), p.Flags
		}
	}
	return is, nil
}
