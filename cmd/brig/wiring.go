package main

// Wiring of the security tools to brig's container store, so they accept
// brig container names: lint's container:NAME lookups, policy generate
// --from CONTAINER and audit2allow --container NAME.

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/brigrt/brig/internal/lint"
	"github.com/brigrt/brig/internal/selinux/audit2allow"
	"github.com/brigrt/brig/internal/selinux/policygen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func init() {
	lintLinter.Lookup = func(ref string) (*lint.Container, bool) {
		e, r, err := lookup(ref)
		if err != nil {
			return nil, false
		}
		data, err := os.ReadFile(e.Containers.Path(r.ID, "config.json"))
		if err != nil {
			return nil, false
		}
		c, err := lint.FromOCI(r.Name, data)
		if err != nil {
			return nil, false
		}
		c.Name, c.ID = r.Name, r.ID
		return &c, true
	}
	policygen.FromContainer = func(ref string) (*policygen.Container, error) {
		s, err := containerSpec(ref)
		if err != nil {
			return nil, err
		}
		c := &policygen.Container{Network: true, DNS: true}
		if p := s.Process; p != nil && p.Capabilities != nil {
			c.Caps = p.Capabilities.Effective
		}
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace && ns.Path == "" {
				// A private network namespace with only loopback (brig
				// has no bridge networking yet): nothing leaves it.
				c.Network, c.DNS = false, false
			}
		}
		for _, m := range s.Mounts {
			if m.Type != "bind" || !isUserMount(m.Destination) {
				continue
			}
			ro := false
			for _, o := range m.Options {
				ro = ro || o == "ro"
			}
			c.Mounts = append(c.Mounts, policygen.Mount{Source: m.Source, Dest: m.Destination, RO: ro})
		}
		return c, nil
	}
	audit2allow.ContainerLevel = func(ref string) (string, error) {
		_, r, err := lookup(ref)
		if err != nil {
			return "", err
		}
		if r.MCS == "" {
			return "", fmt.Errorf("container %s has no MCS level recorded", r.Name)
		}
		return r.MCS, nil
	}
}

func containerSpec(ref string) (*specs.Spec, error) {
	e, r, err := lookup(ref)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(e.Containers.Path(r.ID, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("container %s has no spec: %w", r.Name, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("container %s: %w", r.Name, err)
	}
	return &s, nil
}

// isUserMount tells the user's volumes from the files brig itself binds
// into every container.
func isUserMount(dst string) bool {
	switch dst {
	case "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/init":
		return false
	}
	return true
}
