package lint

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FromOCI normalises an OCI runtime config.json.
func FromOCI(name string, data []byte) (Container, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Container{}, jsonError(name, data, err)
	}
	c := Container{Kind: KindOCI, File: name, Line: 1, Name: ociName(name, &s), Joins: map[string]string{}}

	if p := s.Process; p != nil {
		if pc := p.Capabilities; pc != nil {
			for _, list := range [][]string{pc.Bounding, pc.Effective, pc.Permitted, pc.Ambient, pc.Inheritable} {
				set, err := caps.FromNames(list)
				if err != nil {
					return Container{}, fmt.Errorf("%s: process.capabilities: %w", name, err)
				}
				c.Caps |= set
			}
		}
		c.NoNewPrivs = p.NoNewPrivileges
		c.User = strconv.FormatUint(uint64(p.User.UID), 10)
		c.Root = p.User.UID == 0
		if p.SelinuxLabel != "" {
			c.Labels = append(c.Labels, p.SelinuxLabel)
			c.LabelDisabled = strings.Contains(p.SelinuxLabel, ":spc_t:") || strings.HasSuffix(p.SelinuxLabel, ":spc_t")
		}
	} else {
		c.Root = true
	}
	// A config carries no intent, so "ALL added" means every known one.
	if c.Caps&caps.Full() == caps.Full() {
		c.Added = []string{"ALL"}
	}
	if lbl := s.Annotations["io.podman.annotations.label"]; lbl != "" {
		for _, v := range strings.Split(lbl, ",") {
			applyLabel(&c, v)
		}
	}
	c.NoLabel = len(c.Labels) == 0 && !c.LabelDisabled
	c.ReadOnlyRoot = s.Root != nil && s.Root.Readonly

	l := s.Linux
	if l == nil {
		l = &specs.Linux{}
	}
	present := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range l.Namespaces {
		present[ns.Type] = true
		if ns.Path != "" {
			c.Joins[nsName(ns.Type)] = ns.Path
		}
	}
	// A namespace missing from the list is the host's.
	c.HostPID = !present[specs.PIDNamespace]
	c.HostNet = !present[specs.NetworkNamespace]
	c.HostIPC = !present[specs.IPCNamespace]
	c.HostUTS = !present[specs.UTSNamespace]
	c.SeccompUnconfined = l.Seccomp == nil
	if c.SeccompUnconfined {
		c.SeccompWhy = "linux.seccomp is not set"
	}
	for _, m := range s.Mounts {
		if m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
			c.Mounts = append(c.Mounts, Mount{Source: m.Source, Target: m.Destination, ReadOnly: slices.Contains(m.Options, "ro")})
		}
	}
	for _, d := range l.Devices {
		c.Devices = append(c.Devices, d.Path)
	}
	c.Privileged = s.Annotations["io.podman.annotations.privileged"] == "TRUE" ||
		(c.Caps.Has(capNum("CAP_SYS_ADMIN")) && len(l.MaskedPaths) == 0 && allDevices(l))
	return c, nil
}

// allDevices reports a device cgroup rule that allows every device, as
// engines write for --privileged.
func allDevices(l *specs.Linux) bool {
	if l.Resources == nil {
		return false
	}
	for _, d := range l.Resources.Devices {
		if d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil {
			return true
		}
	}
	return false
}

func nsName(t specs.LinuxNamespaceType) string {
	if t == specs.NetworkNamespace {
		return "network"
	}
	return string(t)
}

// ociName names the container after the bundle directory, or the hostname.
func ociName(file string, s *specs.Spec) string {
	if dir := filepath.Base(filepath.Dir(file)); dir != "." && dir != "/" && filepath.Base(file) == "config.json" {
		return dir
	}
	if s.Hostname != "" {
		return s.Hostname
	}
	return filepath.Base(file)
}
