package policygen

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/brigrt/brig/internal/caps"
)

// Permission sets from refpolicy's support/obj_perm_sets.spt, expanded so
// the CIL output needs no m4 and the .te shows exactly what it grants.
var (
	listDirPerms      = []string{"getattr", "search", "open", "read", "lock", "ioctl"}
	manageDirPerms    = []string{"create", "open", "getattr", "setattr", "read", "write", "link", "unlink", "rename", "search", "add_name", "remove_name", "reparent", "rmdir", "lock", "ioctl"}
	readFilePerms     = []string{"getattr", "open", "read", "lock", "ioctl"}
	manageFilePerms   = []string{"create", "open", "getattr", "setattr", "read", "write", "append", "rename", "link", "unlink", "ioctl", "lock"}
	readLnkFilePerms  = []string{"getattr", "read"}
	manageLnkPerms    = []string{"create", "read", "write", "getattr", "setattr", "link", "unlink", "rename", "ioctl", "lock"}
	createSocketPerms = []string{"create", "ioctl", "read", "getattr", "write", "setattr", "append", "bind", "connect", "getopt", "setopt", "shutdown"}
)

// rule is "allow NAME_t tgt:class perms"; tgt "self" is the domain.
type rule struct {
	tgt, class string
	perms      []string
}

// stanza is a commented group of rules. te, when set, replaces the rules
// in the .te output with a refpolicy interface call that grants at least
// the same (the CIL output has no interfaces and uses the rules).
type stanza struct {
	comment []string
	rules   []rule
	te      []string
}

// capability2 holds capabilities 32 and up in SELinux.
func capClasses(names []string, userns bool) []rule {
	var c1, c2 []string
	for _, n := range names {
		v, err := caps.Parse(n)
		if err != nil {
			continue
		}
		short := strings.ToLower(strings.TrimPrefix(v.Name(), "CAP_"))
		if v < 32 {
			c1 = append(c1, short)
		} else {
			c2 = append(c2, short)
		}
	}
	var out []rule
	if len(c1) > 0 {
		out = append(out, rule{"self", "capability", c1})
		if userns {
			out = append(out, rule{"self", "cap_userns", c1})
		}
	}
	if len(c2) > 0 {
		out = append(out, rule{"self", "capability2", c2})
		if userns {
			out = append(out, rule{"self", "cap2_userns", c2})
		}
	}
	return out
}

func (s *Spec) stanzas() []stanza {
	d := s.Name + "_t"
	var out []stanza
	if len(s.Caps) > 0 {
		out = append(out, stanza{
			comment: []string{"Capabilities the container keeps: " + strings.Join(shortCaps(s.Caps), " ") + "."},
			rules:   capClasses(s.Caps, s.UserNS),
		})
	} else {
		out = append(out, stanza{comment: []string{"No capabilities: the container runs with an empty capability set."}})
	}
	// refpolicy's container module lets only container_t enter a process
	// through the image's files; a new container type needs the same.
	out = append(out, stanza{
		comment: []string{"The container's command comes from the image (container_file_t)."},
		rules:   []rule{{"container_file_t", "file", []string{"entrypoint", "execute", "execute_no_trans", "getattr", "map", "open", "read"}}},
	})
	if s.Network {
		// Not container_net_domain: it carries corenet_tcp_connect_all_ports,
		// which would allow connecting anywhere and defeat the port rules.
		out = append(out, stanza{
			comment: []string{"Network: on. " + d + " may create TCP and UDP sockets; what it may bind",
				"and connect to is limited to the ports below."},
			rules: []rule{{"self", "tcp_socket", append(createSocketPerms, "listen", "accept")},
				{"self", "udp_socket", createSocketPerms}},
		})
	} else {
		out = append(out, stanza{comment: []string{"Network: none. " + d + " gets no socket permissions beyond container_domain's."}})
	}
	for _, p := range s.Ports {
		verb, perm := "Binds", "name_bind"
		if p.Connect {
			verb, perm = "Connects to", "name_connect"
		}
		st := stanza{comment: []string{fmt.Sprintf("%s %d/%s, which the policy labels %s.", verb, p.Port, p.Proto, p.Type)}}
		if !p.Connect {
			st.rules = append(st.rules, rule{"node_t", p.Proto + "_socket", []string{"node_bind"}})
			if p.Port < 1024 && !hasCap(s.Caps, "CAP_NET_BIND_SERVICE") {
				st.comment = append(st.comment, "NOTE: a port below 1024 also needs CAP_NET_BIND_SERVICE, which the container lacks.")
			}
		}
		if p.Connect && p.Proto == "udp" {
			st.comment = append(st.comment, "UDP has no connect check; the socket rules above cover sending.")
		} else {
			st.rules = append(st.rules, rule{p.Type, p.Proto + "_socket", []string{perm}})
		}
		out = append(out, st)
	}
	if s.DNS {
		out = append(out, stanza{
			comment: []string{"DNS resolution: read resolv.conf and hosts (net_conf_t), talk to DNS servers."},
			te:      []string{"sysnet_dns_name_resolve(" + d + ")"},
			rules: []rule{
				{"self", "udp_socket", createSocketPerms},
				{"self", "tcp_socket", createSocketPerms},
				{"dns_port_t", "tcp_socket", []string{"name_connect"}},
				{"net_conf_t", "file", readFilePerms},
				{"net_conf_t", "lnk_file", readLnkFilePerms},
			},
		})
	}
	for _, m := range s.Mounts {
		where := m.Source
		if m.Dest != "" {
			where += " on " + m.Dest
		}
		st := stanza{}
		if m.RO {
			st.comment = []string{fmt.Sprintf("Bind mount %s, read-only; the host files are %s.", where, m.Type)}
			st.rules = []rule{{m.Type, "dir", listDirPerms}, {m.Type, "file", readFilePerms}, {m.Type, "lnk_file", readLnkFilePerms}}
		} else {
			st.comment = []string{fmt.Sprintf("Bind mount %s, read-write; the host files are %s.", where, m.Type)}
			st.rules = []rule{{m.Type, "dir", manageDirPerms}, {m.Type, "file", manageFilePerms}, {m.Type, "lnk_file", manageLnkPerms}}
		}
		if m.Type == "container_file_t" {
			st.comment = append(st.comment, "container_domain already manages container_file_t; the rules are kept for clarity.")
		}
		out = append(out, st)
	}
	return out
}

func shortCaps(list []string) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return out
}

func hasCap(list []string, name string) bool {
	for _, c := range list {
		if c == name {
			return true
		}
	}
	return false
}

func sorted(perms []string) []string {
	out := append([]string(nil), perms...)
	sort.Strings(out)
	return out
}

func permSet(perms []string) string {
	if len(perms) == 1 {
		return perms[0]
	}
	return "{ " + strings.Join(sorted(perms), " ") + " }"
}

func (s *Spec) header(w io.Writer, c string) {
	fmt.Fprintf(w, "%s Container policy module %s, generated by brig policy generate.\n", c, s.Name)
	if s.Source != "" {
		fmt.Fprintf(w, "%s From: %s\n", c, s.Source)
	}
	fmt.Fprintf(w, "%s Use it with: brig run --security-opt label=type:%s_t ...\n", c, s.Name)
}

// WriteTE writes a refpolicy-style module for the devel Makefile.
func (s *Spec) WriteTE(w io.Writer) error {
	d := s.Name + "_t"
	ew := &errWriter{w: w}
	s.header(ew, "#")
	fmt.Fprintf(ew, "# Build: brig policy build %s.te (selinux-policy-dev's Makefile). It needs the\n", s.Name)
	fmt.Fprintf(ew, "# container policy module installed (Debian ships only its interface).\n\n")
	fmt.Fprintf(ew, "policy_module(%s, 1.0)\n\n", s.Name)
	st := s.stanzas()
	types := map[string]bool{}
	attrs := map[string]bool{}
	for _, x := range st {
		if x.te != nil {
			for _, l := range x.te {
				if strings.Contains(l, "container_net_domain") {
					attrs["container_net_domain"] = true
				}
			}
			continue
		}
		for _, r := range x.rules {
			if r.tgt != "self" {
				types[r.tgt] = true
			}
		}
	}
	if len(types)+len(attrs) > 0 {
		fmt.Fprintf(ew, "require {\n")
		for _, t := range keys(types) {
			fmt.Fprintf(ew, "\ttype %s;\n", t)
		}
		for _, a := range keys(attrs) {
			fmt.Fprintf(ew, "\tattribute %s;\n", a)
		}
		fmt.Fprintf(ew, "}\n\n")
	}
	fmt.Fprintf(ew, "# %s is a container domain like container_t: it may use the image and\n", d)
	fmt.Fprintf(ew, "# volumes (container_file_t) and is confined to its MCS categories.\n")
	fmt.Fprintf(ew, "container_domain_template(%s)\n", s.Name)
	for _, x := range st {
		fmt.Fprintln(ew)
		for _, c := range x.comment {
			fmt.Fprintf(ew, "# %s\n", c)
		}
		if x.te != nil {
			for _, l := range x.te {
				fmt.Fprintln(ew, l)
			}
			continue
		}
		for _, r := range x.rules {
			fmt.Fprintf(ew, "allow %s %s:%s %s;\n", d, r.tgt, r.class, permSet(r.perms))
		}
	}
	if s.Permissive {
		fmt.Fprintf(ew, "\n# Permissive while developing: denials are logged, not enforced.\n# Remove this line when the policy is complete.\npermissive %s;\n", d)
	}
	return ew.err
}

// WriteCIL writes the same module as CIL, for `semodule -i NAME.cil`
// without the devel Makefile. It spells out what container_domain_template
// declares; like the .te it needs the container policy module installed.
func (s *Spec) WriteCIL(w io.Writer) error {
	d := s.Name + "_t"
	ew := &errWriter{w: w}
	s.header(ew, ";")
	fmt.Fprintf(ew, "; Install: semodule -i %s.cil (needs the container policy module).\n\n", s.Name)
	fmt.Fprintf(ew, "; A container domain, as container_domain_template(%s) declares it.\n", s.Name)
	fmt.Fprintf(ew, "(type %s)\n(roletype system_r %s)\n", d, d)
	for _, a := range []string{"domain", "container_domain", "mcs_constrained_type"} {
		fmt.Fprintf(ew, "(typeattributeset %s (%s))\n", a, d)
	}
	for _, x := range s.stanzas() {
		fmt.Fprintln(ew)
		for _, c := range x.comment {
			fmt.Fprintf(ew, "; %s\n", c)
		}
		if len(x.te) > 0 && strings.Contains(x.te[0], "container_net_domain") {
			fmt.Fprintf(ew, "(typeattributeset container_net_domain (%s))\n", d)
			continue
		}
		for _, r := range x.rules {
			fmt.Fprintf(ew, "(allow %s %s (%s (%s)))\n", d, r.tgt, r.class, strings.Join(sorted(r.perms), " "))
		}
	}
	if s.Permissive {
		fmt.Fprintf(ew, "\n; Permissive while developing: denials are logged, not enforced.\n(typepermissive %s)\n", d)
	}
	return ew.err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
