// Package policygen writes an SELinux policy module for one container type
// from what the container needs: capabilities, ports, DNS, bind mounts and
// network access. It targets the container policy shipped today
// (container_domain_template, container_t, container_file_t in
// container-selinux and refpolicy's services/container module), not
// Fedora's old virt_sandbox_domain_template the 2015 article used.
package policygen

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/selinux/refpolicy"
)

// Spec is what the container needs.
type Spec struct {
	Name       string   // module name; the domain is Name_t
	Caps       []string // capability names, any spelling caps.Parse takes
	Ports      []Port
	DNS        bool
	Mounts     []Mount
	Network    bool // may use the network at all
	Permissive bool
	UserNS     bool // also grant the capabilities inside a user namespace
	// Source says where the spec came from, for the header comment.
	Source string
	// PortTable maps ports to types; nil means the reference policy's
	// table built into brig (refpolicy.ReadPorts reads a policy's own).
	PortTable refpolicy.Ports
}

// Port is a port the container binds (listens on) or connects to.
type Port struct {
	Proto   string // "tcp" or "udp"
	Port    int
	Connect bool // false: bind
	Type    string
}

// Mount is a bind mount from the host.
type Mount struct {
	Source, Dest string
	RO           bool
	Type         string // the host files' type; "" means look it up
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// ParsePort reads "80", "8080/udp", "connect:5432", "bind:443/tcp".
func ParsePort(s string, connect bool) (Port, error) {
	p := Port{Proto: "tcp", Connect: connect}
	rest := s
	if k, v, ok := strings.Cut(rest, ":"); ok {
		switch k {
		case "bind":
			p.Connect = false
		case "connect":
			p.Connect = true
		default:
			return p, fmt.Errorf("port %q: want [bind:|connect:]PORT[/tcp|/udp]", s)
		}
		rest = v
	}
	if n, proto, ok := strings.Cut(rest, "/"); ok {
		rest, p.Proto = n, strings.ToLower(proto)
	}
	if p.Proto != "tcp" && p.Proto != "udp" {
		return p, fmt.Errorf("port %q: protocol %q is not tcp or udp", s, p.Proto)
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > 65535 {
		return p, fmt.Errorf("port %q: %q is not a port number 1-65535", s, rest)
	}
	p.Port = n
	return p, nil
}

// ParseMount reads "SRC[:DST][:ro|rw][:type=T]".
func ParseMount(s string) (Mount, error) {
	var m Mount
	parts := strings.Split(s, ":")
	if parts[0] == "" || !strings.HasPrefix(parts[0], "/") {
		return m, fmt.Errorf("mount %q: the source must be an absolute host path", s)
	}
	m.Source = parts[0]
	for _, p := range parts[1:] {
		switch {
		case p == "ro":
			m.RO = true
		case p == "rw":
			m.RO = false
		case strings.HasPrefix(p, "type="):
			m.Type = strings.TrimPrefix(p, "type=")
			if !typeRE.MatchString(m.Type) {
				return m, fmt.Errorf("mount %q: %q is not a type name", s, m.Type)
			}
		case strings.HasPrefix(p, "/") && m.Dest == "":
			m.Dest = p
		default:
			return m, fmt.Errorf("mount %q: unknown option %q (want DEST, ro, rw or type=T)", s, p)
		}
	}
	return m, nil
}

var typeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Normalize validates the spec, resolves port types from the reference
// policy's port table and mount types with lookup, and sorts everything
// so the output is the same however the input was ordered.
func (s *Spec) Normalize(lookup func(path string) (string, error)) error {
	if !nameRE.MatchString(s.Name) {
		return fmt.Errorf("module name %q: use letters, digits and _ (the domain becomes NAME_t)", s.Name)
	}
	if strings.HasSuffix(s.Name, "_t") {
		return fmt.Errorf("module name %q: give the name without _t; the domain becomes %s", s.Name, s.Name)
	}
	seen := map[string]bool{}
	var cl []string
	for _, c := range s.Caps {
		if caps.IsAll(c) {
			for _, n := range caps.All() {
				if !seen[n] {
					seen[n] = true
					cl = append(cl, n)
				}
			}
			continue
		}
		v, err := caps.Parse(c)
		if err != nil {
			return err
		}
		if !seen[v.Name()] {
			seen[v.Name()] = true
			cl = append(cl, v.Name())
		}
	}
	s.Caps = caps.Sorted(cl)
	pseen := map[Port]bool{}
	var ports []Port
	for _, p := range s.Ports {
		if p.Type == "" {
			t, ok := refpolicy.PortType(p.Proto, p.Port)
			if s.PortTable != nil {
				t, ok = s.PortTable.Type(p.Proto, p.Port)
			}
			if !ok {
				return fmt.Errorf("port %d/%s: no port type in the policy", p.Port, p.Proto)
			}
			p.Type = t
		} else if !typeRE.MatchString(p.Type) {
			return fmt.Errorf("port %d/%s: %q is not a type name", p.Port, p.Proto, p.Type)
		}
		if !pseen[p] {
			pseen[p] = true
			ports = append(ports, p)
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.Connect != b.Connect {
			return !a.Connect
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.Port < b.Port
	})
	s.Ports = ports
	if len(s.Ports) > 0 && !s.Network {
		return fmt.Errorf("ports given but the network is off")
	}
	if s.DNS && !s.Network {
		return fmt.Errorf("DNS requested but the network is off")
	}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if m.Type == "" {
			if lookup == nil {
				return fmt.Errorf("mount %s: no file type given and no way to look it up (add :type=T)", m.Source)
			}
			t, err := lookup(m.Source)
			if err != nil {
				return fmt.Errorf("mount %s: %w (add :type=T)", m.Source, err)
			}
			m.Type = t
		}
		if !typeRE.MatchString(m.Type) {
			return fmt.Errorf("mount %s: %q is not a type name", m.Source, m.Type)
		}
	}
	sort.SliceStable(s.Mounts, func(i, j int) bool { return s.Mounts[i].Source < s.Mounts[j].Source })
	return nil
}
