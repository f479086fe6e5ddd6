package benchkit

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Leaks is what a benchmark round left behind.
type Leaks struct {
	Mounts, Cgroups, State, Procs []string
	// Zombies are exited children nobody reaped: a runtime that exited
	// before waiting for a child it made. Any pid 1 reaps them, so they
	// are reported, not counted.
	Zombies []string
}

// Count is the number of leaked items.
func (l Leaks) Count() int { return len(l.Mounts) + len(l.Cgroups) + len(l.State) + len(l.Procs) }

// Summary is "mounts 0, cgroups 0, state 0, processes 0".
func (l Leaks) Summary() string {
	s := fmt.Sprintf("mounts %d, cgroups %d, state %d, processes %d",
		len(l.Mounts), len(l.Cgroups), len(l.State), len(l.Procs))
	if len(l.Zombies) > 0 {
		s += fmt.Sprintf(" (and %d unreaped zombies, not counted)", len(l.Zombies))
	}
	return s
}

// Examples lists up to n leaked items, for the report.
func (l Leaks) Examples(n int) []string {
	var out []string
	for _, g := range []struct {
		kind  string
		items []string
	}{{"mount", l.Mounts}, {"cgroup", l.Cgroups}, {"state", l.State}, {"process", l.Procs}, {"zombie (not counted)", l.Zombies}} {
		for _, it := range g.items {
			if len(out) == n {
				return out
			}
			out = append(out, g.kind+": "+it)
		}
	}
	return out
}

// Watch finds what runs left behind, against a baseline taken by NewWatch.
// Call Check only while no measured command is running: it reaps zombie
// children, which would race a pending wait.
type Watch struct {
	// Match reports whether a cgroup directory's name belongs to the
	// benchmark (it holds one of its container ids).
	Match func(name string) bool
	// Parents are cgroup directory names (such as "brig") whose new, empty
	// subdirectories count as leaks even without a Match.
	Parents []string
	// StateDirs must be empty (or missing) after a round. Names starting
	// with a dot (lock files) do not count.
	StateDirs []string
	// Markers are strings (the work directory, say) that no process's
	// command line nor any host mount may contain after a round.
	Markers []string

	mounts  map[string]int
	cgroups map[string]bool
	mntns   string // our mount namespace, if private
	self    int
}

// NewWatch snapshots the mounts and cgroup directories that exist now.
func NewWatch() (*Watch, error) {
	w := &Watch{self: os.Getpid(), mounts: map[string]int{}, cgroups: map[string]bool{}}
	// Sharing our mount namespace is a sign of leftovers only when it is
	// the private one Isolate made, not one that everything shares.
	if os.Getenv(nsEnv) == "1" {
		w.mntns = MntNS(os.Getpid())
	}
	ms, err := ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		w.mounts[m.Key()]++
	}
	for _, d := range cgroupDirs() {
		w.cgroups[d] = true
	}
	return w, nil
}

// Check lists the leaks: mounts added to this namespace (where every
// runtime and engine ran), host mounts naming a marker, cgroup
// directories, state entries, and processes: our children (orphans
// reparent to us as subreaper), anything else in our mount namespace, and
// anything whose command line names a marker.
func (w *Watch) Check() Leaks {
	var l Leaks
	if ms, err := ReadMountinfo("/proc/self/mountinfo"); err != nil {
		l.Mounts = append(l.Mounts, "read mountinfo: "+err.Error())
	} else {
		seen := map[string]int{}
		for _, m := range ms {
			k := m.Key()
			seen[k]++
			if seen[k] > w.mounts[k] {
				l.Mounts = append(l.Mounts, m.Point+" ("+m.FSType+" "+m.Source+")")
			}
		}
	}
	if len(w.Markers) > 0 {
		if ms, err := ReadMountinfo("/proc/1/mountinfo"); err == nil {
			for _, m := range ms {
				if w.marked(m.Point) || w.marked(m.Source) {
					l.Mounts = append(l.Mounts, "host: "+m.Point+" ("+m.FSType+" "+m.Source+")")
				}
			}
		}
	}
	parents := map[string]bool{}
	for _, p := range w.Parents {
		parents[p] = true
	}
	for _, d := range cgroupDirs() {
		name := filepath.Base(d)
		switch {
		case w.Match != nil && w.Match(name):
			l.Cgroups = append(l.Cgroups, d)
		case !w.cgroups[d] && parents[filepath.Base(filepath.Dir(d))] && emptyCgroup(d):
			l.Cgroups = append(l.Cgroups, d)
		}
	}
	for _, dir := range w.StateDirs {
		ents, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			l.State = append(l.State, dir+": "+err.Error())
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				l.State = append(l.State, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, pid := range Pids() {
		if pid == w.self {
			continue
		}
		st, err := procStat(pid)
		if err != nil {
			continue // gone meanwhile
		}
		cmd := Cmdline(pid)
		desc := fmt.Sprintf("pid %d (%s) state %c: %s", pid, st.comm, st.state, cmd)
		switch {
		case st.ppid == w.self && st.state == 'Z':
			l.Zombies = append(l.Zombies, desc)
			// Reap it, so that the next round reports only its own.
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		case st.ppid == w.self || (w.mntns != "" && MntNS(pid) == w.mntns) || w.marked(cmd):
			l.Procs = append(l.Procs, desc)
		}
	}
	sort.Strings(l.Cgroups)
	return l
}

// Settle checks until nothing is left or d has passed, and returns the
// last check: engines finish some cleanup after their command returned
// (podman's conmon runs `podman container cleanup`; brig's monitor exits).
func (w *Watch) Settle(d time.Duration) Leaks {
	deadline := time.Now().Add(d)
	for {
		l := w.Check()
		if l.Count() == 0 || time.Now().After(deadline) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *Watch) marked(s string) bool {
	for _, m := range w.Markers {
		if m != "" && strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// cgroupDirs lists every directory of every cgroup hierarchy mounted here.
func cgroupDirs() []string {
	ms, err := ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	done := map[string]bool{}
	for _, m := range ms {
		if (m.FSType != "cgroup" && m.FSType != "cgroup2") || done[m.Point] {
			continue
		}
		done[m.Point] = true
		filepath.WalkDir(m.Point, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // removed while walking
			}
			if d.IsDir() && p != m.Point {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func emptyCgroup(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return err == nil && len(strings.TrimSpace(string(b))) == 0
}
