package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/rawio"
	"golang.org/x/sys/unix"
)

// Unified reports whether the host runs cgroup v2 only.
func Unified() bool {
	var st unix.Statfs_t
	return unix.Statfs(Root, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// New computes the directories for path on this host; nothing is created.
func New(path string) (*Manager, error) { return newManager(path, v1Mounts) }

func newManager(path string, v1Mounts func() ([]mount, error)) (*Manager, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return nil, fmt.Errorf("cgroup path %q must be absolute and clean", path)
	}
	m := &Manager{Path: path}
	if Unified() {
		m.V2 = filepath.Join(Root, path)
		return m, nil
	}
	mounts, err := v1Mounts()
	if err != nil {
		return nil, err
	}
	m.V1 = map[string]string{}
	for _, mt := range mounts {
		dir := filepath.Join(mt.point, path)
		for _, s := range mt.subsystems {
			m.V1[s] = dir
		}
		if mt.v2 {
			m.V2 = dir
		}
	}
	return m, nil
}

type mount struct {
	point      string
	subsystems []string
	v2         bool
}

// v1Mounts lists the cgroup hierarchies mounted below Root, from mountinfo.
// It is read with plain system calls into one buffer: this runs before
// every container's init is started, and mountinfo grows with the host's
// containers.
func v1Mounts() ([]mount, error) {
	data, err := rawio.ReadFile("/proc/self/mountinfo", 16<<10)
	if err != nil {
		return nil, err
	}
	return parseMounts(data), nil
}

func parseMounts(data []byte) []mount {
	var out []mount
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		pf, qf := bytes.Fields(pre), bytes.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || !bytes.HasPrefix(pf[4], []byte(Root+"/")) {
			continue
		}
		switch string(qf[0]) {
		case "cgroup":
			var subs []string
			for _, o := range strings.Split(string(qf[2]), ",") {
				switch o {
				case "rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children", "xattr", "noprefix":
					continue
				}
				if strings.HasPrefix(o, "release_agent=") {
					continue
				}
				subs = append(subs, o)
			}
			if len(subs) > 0 {
				out = append(out, mount{point: string(pf[4]), subsystems: subs})
			}
		case "cgroup2":
			out = append(out, mount{point: string(pf[4]), v2: true})
		}
	}
	return out
}

// dirs lists each distinct directory once, sorted (stable for tests).
func (m *Manager) dirs() []string {
	out := m.v1Dirs()
	if m.V2 != "" && !slices.Contains(out, m.V2) {
		out = append(out, m.V2)
		sort.Strings(out)
	}
	return out
}

// v1Dirs lists the directories on the v1 hierarchies, each once, sorted:
// a hierarchy may carry several controllers (cpu,cpuacct).
func (m *Manager) v1Dirs() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range m.V1 {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Apply creates the cgroup on every hierarchy and moves pid into it.
func (m *Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	return m.Join(pid)
}

// Create makes the cgroup's directories (and on v2 delegates the
// controllers to them) without moving anything in.
func (m *Manager) Create() error {
	if err := m.CreateUnified(); err != nil {
		return err
	}
	return m.CreateV1()
}

// CreateUnified makes the directory on the unified hierarchy, the one a
// child must find in place when it is cloned into it (see OpenV2).
func (m *Manager) CreateUnified() error {
	if m.V2 == "" {
		return nil
	}
	if m.V1 == nil {
		if err := m.enableV2Controllers(); err != nil {
			return err
		}
	}
	return m.mkdir(m.V2)
}

// CreateV1 makes the directories on the v1 hierarchies, which a process
// only needs once it joins them (see JoinSelf).
func (m *Manager) CreateV1() error {
	for _, d := range m.v1Dirs() {
		if err := m.mkdir(d); err != nil {
			return err
		}
	}
	return nil
}

// Join moves pid into every directory of the container's cgroup. Moving
// another process costs the kernel an RCU grace period (milliseconds: it
// takes the global threadgroup lock for writing), so a container's own
// processes get there with OpenV2 and JoinSelf instead.
func (m *Manager) Join(pid int) error {
	for _, d := range m.dirs() {
		if _, err := os.Stat(d); err != nil {
			continue // a controller that has no directory (e.g. created later)
		}
		if err := write(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// OpenV2 opens the container's directory on the unified hierarchy for
// clone3's CLONE_INTO_CGROUP: the child is born there, with no migration
// at all. It returns nil when the host has no unified hierarchy.
func (m *Manager) OpenV2() (*os.File, error) {
	if m.V2 == "" {
		return nil, nil
	}
	return os.OpenFile(m.V2, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// JoinSelf moves the calling thread into the container's v1 hierarchies
// by writing 0 to their tasks files. A thread moving itself is the one
// case where the kernel skips the global threadgroup lock and its RCU
// grace period (cgroup_procs_write_start: "If the thread is current ...
// we can skip the global lock"), which made this step 8-23 ms as a
// cgroup.procs write from the parent. Only this thread moves: the caller
// must be the process's main thread and the one that later calls execve,
// which ends every other thread. v2 has no per-thread move outside
// threaded subtrees; OpenV2 covers it.
func (m *Manager) JoinSelf() error {
	for _, d := range m.v1Dirs() {
		if err := write(d, "tasks", "0"); err != nil {
			return err
		}
	}
	return nil
}

// mkdir creates dir and its parents; on v1 cpuset hierarchies each new
// level starts with empty cpus/mems, so it inherits its parent's first.
func (m *Manager) mkdir(dir string) error {
	cpuset := m.V1 != nil && m.V1["cpuset"] == dir
	err := unix.Mkdir(dir, 0o755)
	switch {
	case err == unix.EEXIST:
		return nil
	case err == nil && !cpuset:
		return nil // the common case, one syscall
	case err == nil:
		_, err := inheritCpuset(dir)
		return err
	case !cpuset:
		return os.MkdirAll(dir, 0o755)
	}
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
		if d == "/" {
			break
		}
	}
	for _, d := range missing {
		err := os.Mkdir(d, 0o755)
		if err != nil && !os.IsExist(err) {
			return err
		}
		// One made meanwhile may not be filled yet by its maker.
		made := err == nil
		filled, err := inheritCpuset(d)
		if err != nil {
			return err
		}
		if d != dir && (made || filled) {
			// A parent made here: have the kernel fill its future
			// children at mkdir, which saves each of them four system
			// calls. Only cpuset reads the flag.
			_ = write(d, "cgroup.clone_children", "1")
		}
	}
	return nil
}

// inheritCpuset fills a new v1 cpuset cgroup's cpus and mems from its
// parent's: v1 leaves them empty unless the parent has clone_children
// set, and a task cannot join a cgroup that has none. It reports whether
// it had to.
func inheritCpuset(dir string) (bool, error) {
	if v, _ := read(dir, "cpuset.cpus"); v != "" {
		return false, nil // copied by the kernel, or by another maker
	}
	parent := filepath.Dir(dir)
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		v, err := read(parent, f)
		if err != nil {
			return true, err
		}
		if err := write(dir, f, v); err != nil {
			return true, err
		}
	}
	return true, nil
}

// enableV2Controllers delegates every available controller down to the
// container's parent, so the container's own files exist.
func (m *Manager) enableV2Controllers() error {
	avail, err := read(Root, "cgroup.controllers")
	if err != nil {
		return err
	}
	var enable []string
	for _, c := range strings.Fields(avail) {
		enable = append(enable, "+"+c)
	}
	if len(enable) == 0 {
		return nil
	}
	rel := strings.Split(strings.Trim(m.Path, "/"), "/")
	cur := Root
	for _, part := range rel[:len(rel)-1] {
		if err := write(cur, "cgroup.subtree_control", strings.Join(enable, " ")); err != nil {
			return fmt.Errorf("enable controllers in %s: %w", cur, err)
		}
		cur = filepath.Join(cur, part)
		if err := os.MkdirAll(cur, 0o755); err != nil {
			return err
		}
	}
	return write(cur, "cgroup.subtree_control", strings.Join(enable, " "))
}

// Pids lists every process in the container's cgroup, sub-cgroups
// included, on every hierarchy: a process caught half-way through Apply
// may be in some hierarchies only, and must still be found.
func (m *Manager) Pids() ([]int, error) {
	seen := map[int]bool{}
	var pids []int
	var walk func(dir string) error
	walk = func(dir string) error {
		data, err := read(dir, "cgroup.procs")
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return err
		}
		for _, f := range strings.Fields(data) {
			if n, err := strconv.Atoi(f); err == nil && !seen[n] {
				seen[n] = true
				pids = append(pids, n)
			}
		}
		return eachChild(dir, walk)
	}
	for _, dir := range m.dirs() {
		if err := walk(dir); err != nil {
			return pids, err
		}
	}
	return pids, nil
}

// eachChild calls fn for each child cgroup of dir. cgroupfs counts a
// directory's subdirectories in its link count (2 + children), so the
// common case, none, costs one stat instead of listing every control file.
func eachChild(dir string, fn func(string) error) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil || st.Nlink == 2 {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := fn(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Freeze stops (or thaws) every process of the container and waits until
// the kernel reports the new state.
func (m *Manager) Freeze(freeze bool) error {
	if m.V1 != nil {
		d := m.V1["freezer"]
		if d == "" {
			return errors.New("no freezer cgroup on this host")
		}
		want := "THAWED"
		if freeze {
			want = "FROZEN"
		}
		// FREEZING can last a while on a loaded machine (a task deep in a
		// syscall); keep asking for ten seconds, backing off.
		for i, delay := 0, 100*time.Microsecond; i < 1000; i++ {
			if err := write(d, "freezer.state", want); err != nil {
				return err
			}
			if s, _ := read(d, "freezer.state"); s == want {
				return nil
			}
			time.Sleep(delay)
			delay = min(2*delay, 10*time.Millisecond)
		}
		if freeze {
			// A task the v1 freezer cannot stop (e.g. one half-way
			// through execve, waiting for its frozen threads to die)
			// keeps the cgroup FREEZING: do not leave it like that.
			_ = write(d, "freezer.state", "THAWED")
		}
		return fmt.Errorf("cgroup did not become %s", want)
	}
	v := "0"
	if freeze {
		v = "1"
	}
	if err := write(m.V2, "cgroup.freeze", v); err != nil {
		return err
	}
	for i, delay := 0, 100*time.Microsecond; i < 1000; i++ {
		if f, _ := m.Frozen(); f == freeze {
			return nil
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
	return errors.New("cgroup freeze did not complete")
}

// Frozen reports whether the container is frozen.
func (m *Manager) Frozen() (bool, error) {
	if m.V1 != nil {
		s, err := read(m.V1["freezer"], "freezer.state")
		return s == "FROZEN", err
	}
	ev, err := read(m.V2, "cgroup.events")
	if err != nil {
		return false, err
	}
	return keyed(ev, "frozen") == "1", nil
}

// OOMKills is how many processes the kernel OOM-killed in the cgroup.
func (m *Manager) OOMKills() (uint64, error) {
	s, err := m.readMemory("memory.oom_control", "memory.events")
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(keyed(s, "oom_kill"), 10, 64)
}

// MemoryUsage is the memory the cgroup's processes use now, in bytes.
func (m *Manager) MemoryUsage() (int64, error) {
	s, err := m.readMemory("memory.usage_in_bytes", "memory.current")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// readMemory reads a memory controller file: v1's name on a v1 host,
// v2's on a unified one.
func (m *Manager) readMemory(v1, v2 string) (string, error) {
	if m.V1 != nil {
		return read(m.V1["memory"], v1)
	}
	return read(m.V2, v2)
}

// Destroy removes the container's cgroup directories, deepest first.
// The processes must be gone already; a cgroup still busy with one that
// is exiting is retried for up to 200 ms.
func (m *Manager) Destroy() error { return m.remove(200) }

// TryDestroy is Destroy without the wait: it fails at once, with an error
// wrapping EBUSY, when a task is still in one of the cgroups. Callers
// that only know the container's init is gone try it before looking for
// stragglers, which means reading every hierarchy's cgroup.procs.
func (m *Manager) TryDestroy() error { return m.remove(0) }

func (m *Manager) remove(tries int) error {
	var errs []error
	for _, d := range m.dirs() {
		if err := removeTree(d, tries); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeTree(dir string, tries int) error {
	// rmdir first: a container's cgroup rarely has children, and looking
	// for them (a stat, then the directory's entries) would cost more
	// than the rmdir itself. A child makes cgroupfs answer EBUSY, as a
	// task does: then the children go first.
	err := unix.Rmdir(dir)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err == unix.EBUSY {
		if err := eachChild(dir, func(d string) error { return removeTree(d, tries) }); err != nil {
			return err
		}
	}
	// A task that just exited can keep the cgroup busy for a moment.
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || i >= tries {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// read and write go straight to the system calls: os.File would register
// every cgroupfs file with the netpoller first, which costs more syscalls
// than the read or write itself on the path of every container start.
func read(dir, file string) (string, error) {
	b, err := rawio.ReadFile(dir+"/"+file, 512)
	return strings.TrimSpace(string(b)), err
}

// writeFd writes v in one write(2): cgroupfs takes each write as one value.
func writeFd(fd int, v string) error {
	for {
		_, err := unix.Write(fd, []byte(v))
		if err != unix.EINTR {
			return err
		}
	}
}

func write(dir, file, v string) error {
	path := dir + "/" + file
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = writeFd(fd, v)
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", v, path, err)
	}
	return nil
}

// keyed finds "key value" in a flat keyed file such as memory.events.
func keyed(s, key string) string {
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
