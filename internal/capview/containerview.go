package capview

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/procscan"
)

// ContainerOptions shape "brig caps CONTAINER".
type ContainerOptions struct {
	Diff   bool   // compare with Docker's default 14
	Tree   bool   // print the process tree (text only)
	Format string // FormatTable (text) or FormatJSON
}

// ContainerReport is the JSON form of one container's processes.
type ContainerReport struct {
	Container Ref      `json:"container"`
	Processes []Record `json:"processes"`
}

// Container prints every process of one container with its five sets.
// arg is a brig name or id (through Resolve), or a full or prefix id of a
// container of any engine as it appears in the cgroup path.
func (v *Viewer) Container(w io.Writer, arg string, o ContainerOptions) error {
	if o.Format == "" {
		o.Format = FormatTable
	}
	if err := checkFormat(o.Format, FormatTable, FormatJSON); err != nil {
		return err
	}
	if strings.TrimSpace(arg) == "" {
		return fmt.Errorf("empty container name")
	}
	ref, ents, err := v.containerProcs(arg)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	switch {
	case o.Format == FormatJSON:
		rep := ContainerReport{Container: ref, Processes: []Record{}}
		for i := range ents {
			rep.Processes = append(rep.Processes, v.record(&ents[i], o.Diff))
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	case o.Tree:
		writeHead(bw, ref)
		v.writeTree(bw, ents, o.Diff)
	default:
		writeHead(bw, ref)
		for i := range ents {
			v.writeProc(bw, &ents[i], o.Diff)
		}
	}
	return bw.Flush()
}

func writeHead(w io.Writer, r Ref) {
	eng := r.Engine
	if eng == "" {
		eng = "unknown engine"
	}
	if r.Name != "" {
		fmt.Fprintf(w, "container %s (%s %s)\n", r.Name, eng, r.ID)
	} else {
		fmt.Fprintf(w, "container %s (%s)\n", r.ID, eng)
	}
}

// containerProcs finds the container and reads its processes.
func (v *Viewer) containerProcs(arg string) (Ref, []entry, error) {
	where, ok := v.containers()
	var all []entry
	if !ok {
		// No cgroup mounts to walk: read every process's cgroup file.
		var err error
		if all, err = v.scan(nil, true); err != nil {
			return Ref{}, nil, err
		}
		where = map[int]located{}
		for _, e := range all {
			if e.inCtr {
				where[e.PID] = e.loc
			}
		}
	}
	ref, err := v.pick(arg, where)
	if err != nil {
		return Ref{}, nil, err
	}
	var pids []int
	for pid, l := range where {
		if l.ref.Engine == ref.Engine && l.ref.ID == ref.ID {
			pids = append(pids, pid)
		}
	}
	var ents []entry
	if all != nil {
		for _, e := range all {
			if e.inCtr && e.loc.ref.ID == ref.ID && e.loc.ref.Engine == ref.Engine {
				ents = append(ents, e)
			}
		}
	} else {
		procs, err := procscan.Scan(procscan.Options{Root: v.Proc, PIDs: pids, Skip: v.skip()})
		if err != nil {
			return Ref{}, nil, err
		}
		for _, p := range procs {
			ents = append(ents, entry{Proc: p, loc: located{ref, where[p.PID].path}, inCtr: true})
		}
	}
	if len(ents) == 0 {
		return Ref{}, nil, fmt.Errorf("container %s has no running processes", ref.Short())
	}
	sortEntries(ents)
	return ref, ents, nil
}

// pick resolves arg to one container among those running.
func (v *Viewer) pick(arg string, where map[int]located) (Ref, error) {
	refs := map[Ref]bool{}
	for _, l := range where {
		refs[v.named(l.ref)] = true
	}
	var resolveErr error
	if v.Resolve != nil {
		id, err := v.Resolve(arg)
		if err == nil {
			for r := range refs {
				if r.Engine == "brig" && r.ID == id {
					return r, nil
				}
			}
			return Ref{}, fmt.Errorf("container %s has no running processes", arg)
		}
		resolveErr = err
	}
	var exact, prefix []Ref
	for r := range refs {
		switch {
		case r.ID == arg || (r.Name != "" && r.Name == arg):
			exact = append(exact, r)
		case strings.HasPrefix(r.ID, arg):
			prefix = append(prefix, r)
		}
	}
	cands := exact
	if len(cands) == 0 {
		cands = prefix
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		if resolveErr != nil {
			return Ref{}, fmt.Errorf("%w %q: %v", ErrNoContainer, arg, resolveErr)
		}
		return Ref{}, fmt.Errorf("%w %q", ErrNoContainer, arg)
	}
	var ids []string
	for _, r := range cands {
		ids = append(ids, r.Engine+":"+r.ID)
	}
	sort.Strings(ids)
	return Ref{}, fmt.Errorf("%q matches %d containers (%s); give more of the id", arg, len(ids), strings.Join(ids, ", "))
}

func setText(s caps.Set) string {
	if s == 0 {
		return "none"
	}
	var n []string
	for _, c := range s.Caps() {
		n = append(n, c.Short())
	}
	return strings.Join(n, ", ")
}

func (v *Viewer) writeProc(w io.Writer, e *entry, diff bool) {
	userns := ""
	if e.ChildUserNS {
		userns = "  [child user namespace]"
	}
	fmt.Fprintf(w, "\npid %d  ppid %d  user %s (uid %d)  command %s%s\n",
		e.PID, e.PPID, pscapUser(e.EUID, v.lookup), e.EUID, e.Comm, userns)
	for _, s := range []struct {
		name string
		set  caps.Set
	}{{"effective", e.Eff}, {"permitted", e.Prm}, {"inheritable", e.Inh}, {"bounding", e.Bnd}, {"ambient", e.Amb}} {
		fmt.Fprintf(w, "  %-12s %s\n", s.name, setText(s.set))
	}
	nnp := "no"
	if e.NoNewPrivs {
		nnp = "yes"
	}
	sc := strconv.Itoa(e.Seccomp)
	if e.Seccomp >= 0 && e.Seccomp < len(seccompModes) {
		sc = seccompModes[e.Seccomp]
	}
	fmt.Fprintf(w, "  %-12s %s, seccomp %s\n", "no-new-privs", nnp, sc)
	if diff {
		d := dockerDefault()
		fmt.Fprintf(w, "  %-12s effective: %s; permitted: %s; bounding: %s\n", "vs default",
			same(caps.Diff(d, e.Eff)), same(caps.Diff(d, e.Prm)), same(caps.Diff(d, e.Bnd)))
	}
}

func same(d string) string {
	if d == "" {
		return "same"
	}
	return d
}

// writeTree prints the container's processes as a tree; roots are the
// processes whose parent is outside the container.
func (v *Viewer) writeTree(w io.Writer, ents []entry, diff bool) {
	in := map[int]bool{}
	kids := map[int][]int{}
	for i := range ents {
		in[ents[i].PID] = true
	}
	var roots []int
	for i := range ents {
		if in[ents[i].PPID] && ents[i].PPID != ents[i].PID {
			kids[ents[i].PPID] = append(kids[ents[i].PPID], i)
		} else {
			roots = append(roots, i)
		}
	}
	last := v.lastCap()
	var node func(i int, prefix string, root, lastKid bool)
	seen := map[int]bool{}
	node = func(i int, prefix string, root, lastKid bool) {
		e := &ents[i]
		if seen[e.PID] { // pid reuse can fake a cycle; print each once
			return
		}
		seen[e.PID] = true
		branch, cont := "", ""
		if !root {
			branch, cont = "├─ ", "│  "
			if lastKid {
				branch, cont = "└─ ", "   "
			}
		}
		text := fmt.Sprintf("%s (%d, %s) eff: %s", pscapCommand(&e.Proc), e.PID, pscapUser(e.EUID, v.lookup), effSummary(e.Eff, last))
		if diff {
			text += " [vs default: " + same(caps.Diff(dockerDefault(), e.Eff)) + "]"
		}
		fmt.Fprintf(w, "%s%s%s\n", prefix, branch, text)
		k := kids[e.PID]
		for j, c := range k {
			node(c, prefix+cont, false, j == len(k)-1)
		}
	}
	for _, r := range roots {
		node(r, "", true, true)
	}
}

func effSummary(s caps.Set, lastCap int) string {
	m := mask(lastCap)
	switch {
	case s&m == m:
		return "full"
	case s == 0:
		return "none"
	}
	return setText(s)
}
