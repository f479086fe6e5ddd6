package capview

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/procscan"
)

// Namer maps a brig container id to its name; ok=false when unknown.
type Namer func(id string) (name string, ok bool)

// Resolver maps a brig container name or id to the full id.
type Resolver func(nameOrID string) (id string, err error)

// Viewer reads processes and prints them. The zero value reads the live
// /proc and cgroup mounts; Names and Resolve connect brig's container store.
type Viewer struct {
	Names   Namer    // nil: brig containers show by id
	Resolve Resolver // nil: CONTAINER is matched by id or id prefix only

	// Proc is the proc root ("" = /proc). With a custom root, cgroups are
	// read per process from PROC/PID/cgroup and nothing is skipped.
	Proc string
	// Mounts are the cgroup hierarchies to walk; nil discovers them.
	Mounts []procscan.Mount
	// LookupUser maps a uid to a user name; nil uses the passwd database.
	LookupUser func(uid int) (string, bool)

	users sync.Map
	names sync.Map // id -> name ("" when unknown); Names may be slow
}

// Formats accepted by List and Container.
const (
	FormatTable = "table"
	FormatPscap = "pscap"
	FormatJSON  = "json"
)

func (v *Viewer) live() bool { return v.Proc == "" || v.Proc == "/proc" }

func (v *Viewer) procRoot() string {
	if v.Proc == "" {
		return "/proc"
	}
	return v.Proc
}

// lastCap is the kernel's highest capability, as libcap-ng reads it.
func (v *Viewer) lastCap() int {
	b, err := os.ReadFile(v.procRoot() + "/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	return caps.Last
}

func (v *Viewer) lookup(uid int) (string, bool) {
	if n, ok := v.users.Load(uid); ok {
		s := n.(string)
		return s, s != ""
	}
	var name string
	if v.LookupUser != nil {
		name, _ = v.LookupUser(uid)
	} else if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username
	}
	v.users.Store(uid, name)
	return name, name != ""
}

func (v *Viewer) skip() int {
	if v.live() {
		return os.Getpid()
	}
	return 0
}

// located is a process's container and the cgroup path it was found in.
type located struct {
	ref  Ref
	path string
}

// cgroupMounts are the hierarchies to walk; ok=false means none is
// visible (or the proc root is fake), so PROC/PID/cgroup must be read.
func (v *Viewer) cgroupMounts() ([]procscan.Mount, bool) {
	if v.Mounts != nil {
		return v.Mounts, true
	}
	if !v.live() {
		return nil, false
	}
	mounts, err := procscan.CgroupMounts()
	return mounts, err == nil && len(mounts) > 0
}

// containers maps pids to containers by walking the cgroup hierarchies.
func (v *Viewer) containers() (map[int]located, bool) {
	mounts, ok := v.cgroupMounts()
	if !ok {
		return nil, false
	}
	return walkContainers(mounts), true
}

func walkContainers(mounts []procscan.Mount) map[int]located {
	out := map[int]located{}
	procscan.WalkCgroups(mounts,
		func(p string) bool { _, ok := Detect(p); return ok },
		func(p string, pids []int) {
			r, _ := Detect(p)
			for _, pid := range pids {
				if _, dup := out[pid]; !dup {
					out[pid] = located{r, p}
				}
			}
		})
	return out
}

// entry is a scanned process with its container.
type entry struct {
	procscan.Proc
	loc   located
	inCtr bool
}

// scan reads processes (all, or pids) with their containers.
func (v *Viewer) scan(pids []int, needContainers bool) ([]entry, error) {
	var where map[int]located
	perProc := false
	walked := make(chan struct{})
	if needContainers {
		mounts, ok := v.cgroupMounts()
		perProc = !ok
		if ok {
			// The walk touches other files than the scan; overlap them.
			go func() {
				where = walkContainers(mounts)
				close(walked)
			}()
		}
	}
	if !needContainers || perProc {
		close(walked)
	}
	procs, err := procscan.Scan(procscan.Options{Root: v.Proc, Cgroup: perProc, Skip: v.skip(), PIDs: pids})
	<-walked
	if err != nil {
		return nil, err
	}
	out := make([]entry, len(procs))
	for i := range procs {
		e := entry{Proc: procs[i]}
		if perProc {
			if r, p, ok := FromProcCgroup(e.Cgroup); ok {
				e.loc, e.inCtr = located{r, p}, true
			}
		} else if l, ok := where[e.PID]; ok {
			e.loc, e.inCtr = l, true
		}
		if e.inCtr {
			e.loc.ref = v.named(e.loc.ref)
		}
		out[i] = e
	}
	return out, nil
}

func (v *Viewer) named(r Ref) Ref {
	if r.Engine != "brig" || v.Names == nil {
		return r
	}
	if n, ok := v.names.Load(r.ID); ok {
		r.Name = n.(string)
		return r
	}
	n, ok := v.Names(r.ID)
	if !ok {
		n = ""
	}
	v.names.Store(r.ID, n)
	r.Name = n
	return r
}

// List prints every process with capabilities (pid 1 only with all), as
// pscap does. FormatPscap is byte-identical to pscap 0.8.3; FormatTable
// adds a CONTAINER column; FormatJSON prints all five sets per process.
func (v *Viewer) List(w io.Writer, all bool, format string) error {
	if err := checkFormat(format, FormatTable, FormatPscap, FormatJSON); err != nil {
		return err
	}
	ents, err := v.scan(nil, format != FormatPscap)
	if err != nil {
		return fmt.Errorf("reading processes: %w", err)
	}
	last := v.lastCap()
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case FormatPscap:
		header := false
		for i := range ents {
			line, ok := PscapLine(&ents[i].Proc, all, last, v.lookup)
			if !ok {
				continue
			}
			if !header {
				bw.WriteString(PscapHeader)
				header = true
			}
			bw.WriteString(line)
		}
	case FormatTable:
		var rows [][]string
		for i := range ents {
			e := &ents[i]
			if !pscapListed(&e.Proc, all, last) {
				continue
			}
			ctr := "-"
			if e.inCtr {
				ctr = e.loc.ref.Short()
			}
			rows = append(rows, []string{strconv.Itoa(e.PPID), strconv.Itoa(e.PID),
				pscapUser(e.EUID, v.lookup), pscapCommand(&e.Proc), ctr, pscapCaps(&e.Proc, last)})
		}
		if len(rows) > 0 {
			writeTable(bw, []string{"PPID", "PID", "USER", "COMMAND", "CONTAINER", "CAPABILITIES"}, rows)
		}
	case FormatJSON:
		recs := []Record{}
		for i := range ents {
			if pscapListed(&ents[i].Proc, all, last) {
				recs = append(recs, v.record(&ents[i], false))
			}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(recs); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func checkFormat(f string, ok ...string) error {
	for _, o := range ok {
		if f == o {
			return nil
		}
	}
	return fmt.Errorf("unknown format %q (want one of: %s)", f, strings.Join(ok, ", "))
}

// writeTable aligns columns with two spaces; the last column is not padded.
func writeTable(w io.Writer, head []string, rows [][]string) {
	width := make([]int, len(head))
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	b := make([]byte, 0, 256)
	for _, r := range append([][]string{head}, rows...) {
		b = b[:0]
		for i, c := range r {
			if i == len(r)-1 {
				b = append(b, c...)
			} else {
				b = pad(b, c, width[i]+2)
			}
		}
		b = append(b, '\n')
		w.Write(b)
	}
}

// SetView is one capability set in JSON.
type SetView struct {
	Hex  string   `json:"hex"`
	Caps []string `json:"caps"`
}

// Sets are the five capability sets of a process.
type Sets struct {
	Effective   SetView `json:"effective"`
	Permitted   SetView `json:"permitted"`
	Inheritable SetView `json:"inheritable"`
	Bounding    SetView `json:"bounding"`
	Ambient     SetView `json:"ambient"`
}

// Diff compares sets with Docker's default 14 ("+sys_time, -setuid").
type Diff struct {
	Effective string `json:"effective"`
	Permitted string `json:"permitted"`
	Bounding  string `json:"bounding"`
}

// Record is one process in JSON output.
type Record struct {
	PID         int    `json:"pid"`
	PPID        int    `json:"ppid"`
	UID         int    `json:"uid"`
	EUID        int    `json:"euid"`
	User        string `json:"user"`
	Command     string `json:"command"`
	ChildUserNS bool   `json:"child_userns"`
	NoNewPrivs  bool   `json:"no_new_privs"`
	Seccomp     string `json:"seccomp"`
	Container   *Ref   `json:"container,omitempty"`
	Cgroup      string `json:"cgroup,omitempty"`
	Sets        Sets   `json:"sets"`
	Diff        *Diff  `json:"diff_vs_docker_default,omitempty"`
}

func setView(s caps.Set) SetView {
	names := s.Names()
	if names == nil {
		names = []string{}
	}
	return SetView{Hex: s.Hex(), Caps: names}
}

var seccompModes = []string{"disabled", "strict", "filter"}

func (v *Viewer) record(e *entry, diff bool) Record {
	r := Record{
		PID: e.PID, PPID: e.PPID, UID: e.UID, EUID: e.EUID,
		User: pscapUser(e.EUID, v.lookup), Command: e.Comm,
		ChildUserNS: e.ChildUserNS, NoNewPrivs: e.NoNewPrivs,
		Seccomp: strconv.Itoa(e.Seccomp),
		Sets:    Sets{setView(e.Eff), setView(e.Prm), setView(e.Inh), setView(e.Bnd), setView(e.Amb)},
	}
	if e.Seccomp >= 0 && e.Seccomp < len(seccompModes) {
		r.Seccomp = seccompModes[e.Seccomp]
	}
	if e.inCtr {
		ref := e.loc.ref
		r.Container, r.Cgroup = &ref, e.loc.path
	}
	if diff {
		d := dockerDefault()
		r.Diff = &Diff{caps.Diff(d, e.Eff), caps.Diff(d, e.Prm), caps.Diff(d, e.Bnd)}
	}
	return r
}

func dockerDefault() caps.Set {
	s, err := caps.FromNames(caps.DockerDefault)
	if err != nil {
		panic(err) // a constant list; covered by tests
	}
	return s
}

// Decode prints a capability mask like "capsh --decode":
// "0x00000000a80425fb=cap_chown,cap_dac_override,...". Bits past the known
// capabilities print as their number, as capsh does.
func Decode(hex string) (string, error) {
	s, err := caps.ParseHex(hex)
	if err != nil {
		return "", err
	}
	var names []string
	for _, c := range s.Caps() {
		if int(c) <= caps.Last {
			names = append(names, strings.ToLower(c.Name()))
		} else {
			names = append(names, strconv.Itoa(int(c)))
		}
	}
	return "0x" + s.Hex() + "=" + strings.Join(names, ","), nil
}

// ErrNoContainer is returned when CONTAINER matches no running process.
var ErrNoContainer = errors.New("no running container matches")

// sortEntries orders by pid.
func sortEntries(e []entry) { sort.Slice(e, func(i, j int) bool { return e[i].PID < e[j].PID }) }
