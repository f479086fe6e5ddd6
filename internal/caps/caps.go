// Package caps names Linux capabilities and does the set arithmetic that
// Docker-style --cap-add/--cap-drop need. It is pure: no syscalls, so the
// spec builders, the linter and the viewers can share it and test it anywhere.
package caps

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
)

// names is indexed by capability number (linux/capability.h).
var names = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Last is the highest capability number this package knows.
const Last = len(names) - 1

// Cap is a capability number.
type Cap int

// Name is the canonical "CAP_X" spelling, or "cap_N" for numbers past Last.
func (c Cap) Name() string {
	if c >= 0 && int(c) <= Last {
		return names[c]
	}
	return "cap_" + strconv.Itoa(int(c))
}

// Short is the lower-case name without the prefix, as pscap and capsh print it.
func (c Cap) Short() string {
	return strings.ToLower(strings.TrimPrefix(c.Name(), "CAP_"))
}

func (c Cap) String() string { return c.Name() }

// DockerDefault is Docker's default set of 14, in Docker's order.
var DockerDefault = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Parse accepts "SYS_TIME", "cap_sys_time", "CAP_SYS_TIME" and returns the
// capability. "ALL" is not a capability; callers handle it (see IsAll).
func Parse(s string) (Cap, error) {
	n := Normalize(s)
	for i, name := range names {
		if name == n {
			return Cap(i), nil
		}
	}
	return -1, fmt.Errorf("unknown capability %q (expected a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL)", s)
}

// Normalize gives the canonical "CAP_X" form of a user-written name.
func Normalize(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "ALL" {
		return u
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	return u
}

// IsAll reports whether s means every capability.
func IsAll(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "ALL") }

// Known reports whether name (canonical form) is a capability this package knows.
func Known(name string) bool {
	_, err := Parse(name)
	return err == nil
}

// All returns every known capability name, in number order.
func All() []string { return append([]string(nil), names[:]...) }

// Set is a bit mask of capabilities, as in /proc/PID/status.
type Set uint64

// Has reports whether c is in the set.
func (s Set) Has(c Cap) bool { return c >= 0 && c < 64 && s&(1<<uint(c)) != 0 }

// Count is the number of capabilities in the set.
func (s Set) Count() int { return bits.OnesCount64(uint64(s)) }

// Caps lists the members in number order.
func (s Set) Caps() []Cap {
	var out []Cap
	for i := 0; i < 64; i++ {
		if s&(1<<uint(i)) != 0 {
			out = append(out, Cap(i))
		}
	}
	return out
}

// Names lists the canonical names of the members in number order.
func (s Set) Names() []string {
	var out []string
	for _, c := range s.Caps() {
		out = append(out, c.Name())
	}
	return out
}

// Hex is the 16-digit form used by /proc/PID/status.
func (s Set) Hex() string { return fmt.Sprintf("%016x", uint64(s)) }

// ParseHex reads a mask such as "00000000a80425fb" or "0xa80425fb".
func ParseHex(h string) (Set, error) {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "0x"), "0X")
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid capability mask %q: %w", h, err)
	}
	return Set(v), nil
}

// FromNames builds a set from names; unknown names are an error naming them.
func FromNames(list []string) (Set, error) {
	var s Set
	for _, n := range list {
		if IsAll(n) {
			s |= Full()
			continue
		}
		c, err := Parse(n)
		if err != nil {
			return 0, err
		}
		s |= 1 << uint(c)
	}
	return s, nil
}

// Full is every capability this package knows.
func Full() Set { return Set(1<<uint(Last+1) - 1) }

// Upto is every capability numbered 0..last, e.g. the host's
// /proc/sys/kernel/cap_last_cap.
func Upto(last int) Set {
	if last >= 63 {
		return ^Set(0)
	}
	return Set(1<<uint(last+1) - 1)
}

// Tweak applies Docker's --cap-add/--cap-drop rules to base and returns the
// sorted canonical result:
//   - adding ALL gives every capability, whatever is dropped (Docker: "add ALL wins");
//   - dropping ALL empties the base, then the adds are applied;
//   - otherwise drops are removed from base and adds are unioned in.
//
// Any unknown name is an error that names it.
func Tweak(base, add, drop []string) ([]string, error) {
	var addAll, dropAll bool
	var addSet, dropSet, baseSet Set
	for _, n := range add {
		if IsAll(n) {
			addAll = true
			continue
		}
		c, err := Parse(n)
		if err != nil {
			return nil, err
		}
		addSet |= 1 << uint(c)
	}
	for _, n := range drop {
		if IsAll(n) {
			dropAll = true
			continue
		}
		c, err := Parse(n)
		if err != nil {
			return nil, err
		}
		dropSet |= 1 << uint(c)
	}
	for _, n := range base {
		c, err := Parse(n)
		if err != nil {
			return nil, err
		}
		baseSet |= 1 << uint(c)
	}
	var out Set
	switch {
	case addAll:
		out = Full()
	case dropAll:
		out = addSet
	default:
		out = (baseSet &^ dropSet) | addSet
	}
	return out.Names(), nil
}

// Diff describes how s differs from base, Docker-default style:
// "+sys_time, -setuid". Empty when equal.
func Diff(base, s Set) string {
	var parts []string
	for _, c := range (s &^ base).Caps() {
		parts = append(parts, "+"+c.Short())
	}
	for _, c := range (base &^ s).Caps() {
		parts = append(parts, "-"+c.Short())
	}
	return strings.Join(parts, ", ")
}

// Sorted returns canonical names sorted by capability number; unknown
// names sort last, alphabetically.
func Sorted(list []string) []string {
	out := append([]string(nil), list...)
	num := func(n string) int {
		c, err := Parse(n)
		if err != nil {
			return 1 << 20
		}
		return int(c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := num(out[i]), num(out[j])
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}
