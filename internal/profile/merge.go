package profile

import (
	"fmt"
	"strings"
)

// Merge returns the union of the profiles: every capability, syscall, port
// and path any of them used, with counts summed. Profiles of different
// architectures cannot be merged: their syscall names mean different numbers.
func Merge(ps ...*Profile) (*Profile, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	out := &Profile{Version: Version, Arch: ps[0].Arch}
	for i, p := range ps {
		if p.Arch != out.Arch {
			return nil, fmt.Errorf("profile %d is for %s, profile 1 for %s: cannot merge", i+1, p.Arch, out.Arch)
		}
		if len(out.Command) == 0 {
			out.Command = append([]string(nil), p.Command...)
		}
		out.Capabilities = append(out.Capabilities, p.Capabilities...)
		out.Syscalls = append(out.Syscalls, p.Syscalls...)
		out.Network.Bind = append(out.Network.Bind, p.Network.Bind...)
		out.Network.Connect = append(out.Network.Connect, p.Network.Connect...)
		out.Files.Written = append(out.Files.Written, p.Files.Written...)
		out.Files.Tmpfs = append(out.Files.Tmpfs, p.Files.Tmpfs...)
	}
	out.Normalize() // sums the counts of repeated capabilities
	return out, nil
}

// Change is what one category gained (+) and lost (-) from a to b.
type Change struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Diff is the difference between two profiles, by category. Counts are not
// compared: a privilege is used or not.
type Diff struct {
	Capabilities Change `json:"capabilities"`
	Denied       Change `json:"deniedCapabilities"`
	Syscalls     Change `json:"syscalls"`
	Bind         Change `json:"bind"`
	Connect      Change `json:"connect"`
	Written      Change `json:"written"`
	Tmpfs        Change `json:"tmpfs"`
}

// Compare returns what b uses that a does not (Added) and the reverse.
func Compare(a, b *Profile) *Diff {
	d := &Diff{}
	d.Capabilities = change(a.Used(), b.Used())
	d.Denied = change(denied(a), denied(b))
	d.Syscalls = change(a.Syscalls, b.Syscalls)
	d.Bind = change(eps(a.Network.Bind), eps(b.Network.Bind))
	d.Connect = change(eps(a.Network.Connect), eps(b.Network.Connect))
	d.Written = change(a.Files.Written, b.Files.Written)
	d.Tmpfs = change(a.Files.Tmpfs, b.Files.Tmpfs)
	return d
}

// Empty reports whether the profiles use the same privileges.
func (d *Diff) Empty() bool {
	for _, c := range d.changes() {
		if len(c.ch.Added)+len(c.ch.Removed) > 0 {
			return false
		}
	}
	return true
}

type namedChange struct {
	name string
	ch   Change
}

func (d *Diff) changes() []namedChange {
	return []namedChange{
		{"capabilities", d.Capabilities}, {"denied capabilities", d.Denied},
		{"syscalls", d.Syscalls}, {"bind", d.Bind}, {"connect", d.Connect},
		{"written", d.Written}, {"tmpfs", d.Tmpfs},
	}
}

// String renders the diff as "category:" headings with "+ x" / "- x" lines.
func (d *Diff) String() string {
	var b strings.Builder
	for _, c := range d.changes() {
		if len(c.ch.Added)+len(c.ch.Removed) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", c.name)
		for _, s := range c.ch.Removed {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
		for _, s := range c.ch.Added {
			fmt.Fprintf(&b, "  + %s\n", s)
		}
	}
	return b.String()
}

func denied(p *Profile) []string {
	var out []string
	for _, c := range p.Capabilities {
		if c.Denied > 0 {
			out = append(out, c.Name)
		}
	}
	return out
}

func eps(list []Endpoint) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.String()
	}
	return out
}

func change(a, b []string) Change {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range list {
			m[s] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var c Change
	for _, s := range uniq(b) {
		if !ma[s] {
			c.Added = append(c.Added, s)
		}
	}
	for _, s := range uniq(a) {
		if !mb[s] {
			c.Removed = append(c.Removed, s)
		}
	}
	return c
}
