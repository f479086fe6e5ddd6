// Package refpolicy holds facts about the SELinux reference policy that
// brig needs without a loaded policy: the object classes and their
// permissions, and which port type each TCP/UDP port has. The tables are
// generated from Debian's selinux-policy-src (see gen/).
package refpolicy

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

//go:generate sh -c "go run ./gen /usr/src/selinux-policy-src.tar.zst > tables.go"

// Portcon is one portcon statement: ports Lo..Hi of Proto have type Type.
type Portcon struct {
	Proto  string
	Lo, Hi int
	Type   string
}

// PortType is the type the reference policy gives port/proto, e.g.
// http_port_t for 80/tcp and unreserved_port_t for an unnamed high port.
// ok is false for an unknown protocol or a port outside 1..65535.
func PortType(proto string, port int) (string, bool) {
	return Ports(portcons).Type(proto, port)
}

// Ports is a port table, from this package or from a policy (ReadPorts).
type Ports []Portcon

// Type finds the narrowest portcon holding port/proto: libsepol sorts
// port contexts narrowest first and the kernel takes the first match.
func (ps Ports) Type(proto string, port int) (string, bool) {
	best := -1
	for i, p := range ps {
		if p.Proto == proto && port >= p.Lo && port <= p.Hi &&
			(best < 0 || p.Hi-p.Lo < ps[best].Hi-ps[best].Lo) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return ps[best].Type, true
}

// ReadPorts asks a binary policy for its portcons with setools' seinfo,
// so modules use the port types of the policy in use rather than the
// reference policy's.
func ReadPorts(ctx context.Context, policy string) (Ports, error) {
	if _, err := exec.LookPath("seinfo"); err != nil {
		return nil, fmt.Errorf("reading ports from %s needs seinfo: install setools (Debian) or setools-console (Fedora)", policy)
	}
	out, err := exec.CommandContext(ctx, "seinfo", policy, "--portcon").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("seinfo %s --portcon: %v: %s", policy, err, strings.TrimSpace(string(out)))
	}
	return ParsePorts(out)
}

// ParsePorts reads `seinfo --portcon` output ("portcon tcp 80
// system_u:object_r:http_port_t:s0").
func ParsePorts(out []byte) (Ports, error) {
	var ps Ports
	for n, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "portcon" {
			continue
		}
		lo, hi, isRange := strings.Cut(f[2], "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		ctx := strings.Split(f[3], ":")
		if err1 != nil || err2 != nil || b < a || len(ctx) < 3 {
			return nil, fmt.Errorf("seinfo line %d: cannot read %q", n+1, line)
		}
		ps = append(ps, Portcon{f[1], a, b, ctx[2]})
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("seinfo printed no portcon lines")
	}
	return ps, nil
}

// Perms is the permission list of class, or nil for an unknown class.
func Perms(class string) []string { return classPerms[class] }

// KnownClass reports whether class is an object class of the policy.
func KnownClass(class string) bool { _, ok := classPerms[class]; return ok }

// KnownPerm reports whether perm is a permission of class.
func KnownPerm(class, perm string) bool {
	for _, p := range classPerms[class] {
		if p == perm {
			return true
		}
	}
	return false
}
