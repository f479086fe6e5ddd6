// Package procscan reads processes' identities and capability sets from
// /proc quickly. It is built for walking every process on a busy host: one
// read of /proc/PID/status per process (plus /proc/PID/cgroup on request),
// reused buffers, and a few workers. A process that exits while it is being
// read is skipped, never reported as an error.
package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/brigrt/brig/internal/caps"
)

// Proc is one process as /proc shows it.
type Proc struct {
	PID, PPID  int
	Comm       string // raw comm (the status Name, unescaped)
	UID, EUID  int    // real and effective uid
	Inh, Prm   caps.Set
	Eff, Bnd   caps.Set
	Amb        caps.Set
	NoNewPrivs bool
	Seccomp    int  // 0 off, 1 strict, 2 filter
	Kthread    bool // pid 2 or a child of kthreadd, the rule pscap uses

	// ChildUserNS is set when the process's user namespace differs from the
	// scanner's own (pscap's " *").
	ChildUserNS bool

	// Cgroup is the raw content of /proc/PID/cgroup, read only when
	// Options.Cgroup is set.
	Cgroup string
}

// Options tune a scan.
type Options struct {
	// Root is the proc mount; "" means /proc. Tests point it at a fake tree.
	Root string
	// Cgroup also reads /proc/PID/cgroup into Proc.Cgroup.
	Cgroup bool
	// Skip is a pid left out (pscap leaves out itself); 0 skips nothing.
	Skip int
	// PIDs limits the scan to these pids; nil means every process.
	PIDs []int
	// Workers is the number of parallel readers; 0 means GOMAXPROCS.
	Workers int
}

// ErrGone means the process exited (or never existed) while being read.
var ErrGone = errors.New("process is gone")

// ParseStatus fills p from the text of /proc/PID/status. It needs the Name,
// PPid, Uid and the five Cap lines; anything missing or malformed is an error
// naming the line.
func ParseStatus(b []byte, p *Proc) error {
	const (
		fName = 1 << iota
		fPPid
		fUid
		fInh
		fPrm
		fEff
		fBnd
		fAmb
	)
	seen := 0
	line := 0
	for len(b) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		colon := bytes.IndexByte(l, ':')
		if colon < 0 {
			continue
		}
		key, val := l[:colon], l[colon+1:]
		for len(val) > 0 && (val[0] == '\t' || val[0] == ' ') {
			val = val[1:]
		}
		var err error
		switch string(key) { // no allocation: the compiler special-cases this
		case "Name":
			p.Comm = unescapeName(val)
			seen |= fName
		case "PPid":
			p.PPID, err = atoi(val)
			seen |= fPPid
		case "Uid":
			var f [2]int
			f, err = twoInts(val)
			p.UID, p.EUID = f[0], f[1]
			seen |= fUid
		case "CapInh":
			err = hexSet(val, &p.Inh)
			seen |= fInh
		case "CapPrm":
			err = hexSet(val, &p.Prm)
			seen |= fPrm
		case "CapEff":
			err = hexSet(val, &p.Eff)
			seen |= fEff
		case "CapBnd":
			err = hexSet(val, &p.Bnd)
			seen |= fBnd
		case "CapAmb":
			err = hexSet(val, &p.Amb)
			seen |= fAmb
		case "NoNewPrivs":
			p.NoNewPrivs = string(val) == "1"
		case "Seccomp":
			p.Seccomp, err = atoi(val)
		}
		if err != nil {
			return fmt.Errorf("status line %d (%s): %w", line, key, err)
		}
	}
	// CapAmb is missing on kernels before 4.3; treat it as empty there.
	if need := fName | fPPid | fUid | fInh | fPrm | fEff | fBnd; seen&need != need {
		return fmt.Errorf("status is missing fields (have %08b, need %08b)", seen, need)
	}
	p.Kthread = p.PID == 2 || p.PPID == 2
	return nil
}

// unescapeName undoes the kernel's escaping of "\n" and "\\" in Name.
func unescapeName(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case 'n':
				out = append(out, '\n')
				i++
				continue
			case '\\':
				out = append(out, '\\')
				i++
				continue
			}
		}
		out = append(out, v[i])
	}
	return string(out)
}

func atoi(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	n := 0
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
		if len(b) == 0 {
			return 0, errors.New("bad number \"-\"")
		}
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", b)
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

func twoInts(b []byte) ([2]int, error) {
	var out [2]int
	f := bytes.Fields(b)
	if len(f) < 2 {
		return out, fmt.Errorf("want at least 2 fields, got %q", b)
	}
	for i := 0; i < 2; i++ {
		n, err := atoi(f[i])
		if err != nil {
			return out, err
		}
		out[i] = n
	}
	return out, nil
}

func hexSet(b []byte, s *caps.Set) error {
	if len(b) == 0 || len(b) > 16 {
		return fmt.Errorf("bad mask %q", b)
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return fmt.Errorf("bad mask %q", b)
		}
		v = v<<4 | uint64(d)
	}
	*s = caps.Set(v)
	return nil
}

// pidName reports whether name is a process directory and its pid.
func pidName(name string) (int, bool) {
	if name == "" || name[0] < '0' || name[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(name)
	return n, err == nil && n > 0
}
