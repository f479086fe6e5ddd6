// Package capview shows the capabilities of running processes: a
// byte-exact pscap 0.8.3 listing, a listing with each process's container,
// one container's processes with all five sets decoded, and capsh-style
// mask decoding. Process data comes from internal/procscan.
package capview

import (
	"strconv"
	"strings"
	"sync"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/procscan"
)

// PscapHeader is pscap 0.8.3's header line. pscap prints it before the
// first listed process only, so an empty listing prints nothing at all.
const PscapHeader = "ppid  pid   name        command             capabilities\n"

// mask is what libcap-ng compares against: the low word whole, the high
// word only up to cap_last_cap.
func mask(lastCap int) caps.Set { return caps.Upto(lastCap) | 0xffffffff }

// pscapListed applies pscap's filters: no kernel threads, pid 1 only with
// -a, and only processes whose effective set is not empty.
func pscapListed(p *procscan.Proc, all bool, lastCap int) bool {
	if p.Kthread || (!all && p.PID == 1) {
		return false
	}
	return p.Eff&mask(lastCap) != 0
}

// shortName holds the pscap spellings ("chown", "cap_41"), built once:
// lowering 40 names for each of thousands of processes showed up in
// profiles.
var shortName = func() (n [64]string) {
	for i := range n {
		n[i] = caps.Cap(i).Short()
	}
	return n
}()

// capsKey is everything pscapCaps looks at; most processes share a few
// combinations, so the text is rendered once per combination.
type capsKey struct {
	prm, eff, amb, bnd caps.Set
	last               int
}

var capsText sync.Map // capsKey -> string

// pscapCaps is pscap's capability column: the permitted set in bit order,
// or "full" when the effective set is full; then " @" for a non-empty
// ambient set and " +" for a non-empty bounding set.
func pscapCaps(p *procscan.Proc, lastCap int) string {
	m := mask(lastCap)
	k := capsKey{p.Prm, p.Eff & m, p.Amb & m, p.Bnd & m, lastCap}
	if s, ok := capsText.Load(k); ok {
		return s.(string)
	}
	s := renderCaps(p, lastCap)
	capsText.Store(k, s)
	return s
}

func renderCaps(p *procscan.Proc, lastCap int) string {
	m := mask(lastCap)
	var b strings.Builder
	if p.Eff&m == m {
		b.WriteString("full")
	} else {
		first := true
		for i := 0; i <= lastCap && i < 64; i++ {
			if p.Prm.Has(caps.Cap(i)) {
				if !first {
					b.WriteString(", ")
				}
				first = false
				b.WriteString(shortName[i])
			}
		}
	}
	if p.Amb&m != 0 {
		b.WriteString(" @")
	}
	if p.Bnd&m != 0 {
		b.WriteString(" +")
	}
	return b.String()
}

// pscapUser is pscap's name column: "root" for euid 0 without a lookup,
// else the passwd name, else the number.
func pscapUser(euid int, lookup func(int) (string, bool)) string {
	if euid == 0 {
		return "root"
	}
	if lookup != nil {
		if n, ok := lookup(euid); ok {
			return n
		}
	}
	return strconv.Itoa(euid)
}

// pscapCommand is comm plus " *" for a process in a child user namespace.
func pscapCommand(p *procscan.Proc) string {
	if p.ChildUserNS {
		return p.Comm + " *"
	}
	return p.Comm
}

// PscapLine renders p as pscap 0.8.3 prints it ("%-5d %-5d %-10s  %-18s  "
// and the capabilities), or ok=false when pscap leaves it out. Padding
// counts bytes, as C's printf does.
func PscapLine(p *procscan.Proc, all bool, lastCap int, lookup func(int) (string, bool)) (string, bool) {
	if !pscapListed(p, all, lastCap) {
		return "", false
	}
	b := make([]byte, 0, 128)
	b = pad(b, strconv.Itoa(p.PPID), 5)
	b = append(b, ' ')
	b = pad(b, strconv.Itoa(p.PID), 5)
	b = append(b, ' ')
	b = pad(b, pscapUser(p.EUID, lookup), 10)
	b = append(b, "  "...)
	b = pad(b, pscapCommand(p), 18)
	b = append(b, "  "...)
	b = append(b, pscapCaps(p, lastCap)...)
	b = append(b, '\n')
	return string(b), true
}

// pad appends s left-aligned in width bytes; longer strings are not cut.
func pad(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for i := len(s); i < width; i++ {
		b = append(b, ' ')
	}
	return b
}
