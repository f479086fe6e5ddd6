//go:build linux && amd64

package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/brigrt/brig/internal/trace"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/profile"
)

// Event kinds, as in bpf/record.bpf.c.
const (
	evBind    = 1
	evConnect = 2
	evFile    = 3
)

// noauditFuncs call cap_capable with CAP_OPT_NOAUDIT: probes, not uses.
var noauditFuncs = []string{
	"ns_capable_noaudit",
	"has_ns_capability_noaudit",
	"has_capability_noaudit",
	"cap_vm_enough_memory",
	"__vm_enough_memory",
	"security_vm_enough_memory_mm",
}

// Recorder is one running recording. Start it before the container's
// first execve; Stop it after the container exited.
type Recorder struct {
	opts   Options
	objs   recordObjects
	links  []link.Link
	rd     *ringbuf.Reader
	done   chan struct{}
	mu     sync.Mutex
	bind   map[profile.Endpoint]bool
	conn   map[profile.Endpoint]bool
	files  map[string]bool
	tmpfs  map[string]bool
	trunc  uint64
	stats  Stats
	closed bool
}

// kernelBTF is shared by every Start in the process: parsing the kernel's
// BTF is most of a cold Start's CPU time.
var kernelBTF = btf.NewCache()

// Warm parses the kernel's BTF and finds the non-auditing helpers in the
// background, so that a later Start only loads, verifies and attaches.
// Call it early (e.g. while the container's rootfs is prepared); it costs
// the kernel types' memory for the life of the process.
func Warm() {
	go func() {
		warmTypes()
		noauditRangesCached()
	}()
}

// warmTypes indexes the kernel's BTF and decodes task_struct. cilium/ebpf
// decodes a type with everything it refers to, and task_struct refers to
// most of the kernel: both the tracepoints' BTF ids (sched_process_exec's
// arguments) and the CO-RE relocations need it, so it is decoded once, up
// front, on another core.
func warmTypes() {
	k, err := kernelBTF.Kernel()
	if err == nil {
		var t *btf.Struct
		_ = k.TypeByName("task_struct", &t)
	}
}

// loadParallel loads the collection like LoadAndAssign, but each program
// on its own goroutine: a cold load is mostly decoding kernel types for
// the CO-RE relocations (one core) and the kernel verifying on_exit (the
// other), which LoadAndAssign would do one after the other.
func loadParallel(spec *ebpf.CollectionSpec, objs *recordObjects) (err error) {
	// The maps first, created as the collection loader creates them (data
	// sections mmapable), then shared by every program's load.
	coll, err := ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{Maps: spec.Maps, Variables: spec.Variables, Types: spec.Types, ByteOrder: spec.ByteOrder}, ebpf.CollectionOptions{})
	if err != nil {
		return err
	}
	coll.Programs = map[string]*ebpf.Program{}
	defer func() {
		if err == nil {
			err = coll.Assign(objs)
		}
		coll.Close() // what Assign did not take
	}()
	type result struct {
		name string
		coll *ebpf.Collection
		err  error
	}
	ch := make(chan result, len(spec.Programs))
	for name, ps := range spec.Programs {
		go func() {
			one := &ebpf.CollectionSpec{
				Maps: spec.Maps, Programs: map[string]*ebpf.ProgramSpec{name: ps},
				Types: spec.Types, ByteOrder: spec.ByteOrder,
			}
			c, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{Cache: kernelBTF, MapReplacements: coll.Maps})
			ch <- result{name, c, err}
		}()
	}
	for range spec.Programs {
		res := <-ch
		if res.err != nil {
			if err == nil {
				err = res.err
			}
			continue
		}
		coll.Programs[res.name] = res.coll.DetachProgram(res.name)
		res.coll.Close()
	}
	return err
}

// testFailAfterAttach makes Start fail once everything is attached, so the
// integration test can check the cleanup path.
var testFailAfterAttach bool

// Start loads and attaches the recorder's programs for one cgroup. On error
// nothing stays loaded.
func Start(o Options) (*Recorder, error) {
	if o.Cgroup == "" {
		return nil, errors.New("record: no cgroup given (the container's cgroup v2 directory, e.g. /sys/fs/cgroup/unified/brig/<id>)")
	}
	if err := preflight(); err != nil {
		return nil, err
	}
	// Decoding the kernel's types is most of a cold Start: begin at once,
	// on another core, while the rest is prepared.
	go warmTypes()
	id, level, err := cgroupID(o.Cgroup)
	if err != nil {
		return nil, err
	}
	trace.Mark("record: preflight")
	spec, err := loadRecord()
	if err != nil {
		return nil, fmt.Errorf("record: reading the embedded BPF object: %w", err)
	}
	trace.Mark("record: object parsed")
	set := map[string]any{"cgroup_id": id, "cgroup_level": level}
	if o.Immediate {
		set["begun_at_start"] = uint32(1)
	}
	if o.SkipExec != "" {
		var st unix.Stat_t
		if err := unix.Stat(o.SkipExec, &st); err != nil {
			return nil, fmt.Errorf("record: skip-exec binary %s: %w", o.SkipExec, err)
		}
		set["skip_ino"] = st.Ino
		// The kernel's dev_t packs major:minor as 12:20 bits.
		set["skip_dev"] = uint32(unix.Major(st.Dev)<<20 | unix.Minor(st.Dev))
	}
	for name, v := range set {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("record: setting %s: %w", name, err)
		}
	}
	// Reading /proc/kallsyms is slow; do it while the kernel verifies.
	type rangesResult struct {
		r   []recordRange
		err error
	}
	rch := make(chan rangesResult, 1)
	go func() {
		r, err := noauditRangesCached()
		rch <- rangesResult{r, err}
	}()

	r := &Recorder{
		opts: o, done: make(chan struct{}),
		bind: map[profile.Endpoint]bool{}, conn: map[profile.Endpoint]bool{},
		files: map[string]bool{}, tmpfs: map[string]bool{},
	}
	if err := loadParallel(spec, &r.objs); err != nil {
		<-rch
		return nil, loadError(err)
	}
	trace.Mark("record: loaded")
	ok := false
	defer func() {
		if !ok {
			r.release()
		}
	}()
	rr := <-rch
	if rr.err != nil {
		return nil, rr.err
	}
	for i, rg := range rr.r {
		if err := r.objs.Noaudit.Update(uint32(i), rg, ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("record: filling the noaudit map: %w", err)
		}
	}
	for _, p := range []*ebpf.Program{r.objs.OnCapable, r.objs.OnExit, r.objs.OnTaskExit, r.objs.OnSignal, r.objs.OnExec} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			return nil, fmt.Errorf("record: attaching %s: %w", p, err)
		}
		r.links = append(r.links, l)
	}
	trace.Mark("record: attached")
	if r.rd, err = ringbuf.NewReader(r.objs.Events); err != nil {
		return nil, fmt.Errorf("record: ring buffer reader: %w", err)
	}
	if testFailAfterAttach {
		return nil, errors.New("record: injected failure after attach")
	}
	go r.read()
	ok = true
	return r, nil
}

// preflight names what is missing before the kernel gives a bare EPERM.
func preflight() error {
	if os.Geteuid() != 0 {
		eff, err := effectiveCaps()
		if err != nil || !(eff.Has(39) && eff.Has(38) || eff.Has(21)) {
			return errors.New("record: recording needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)")
		}
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return errors.New("record: the kernel has no BTF (/sys/kernel/btf/vmlinux is missing; needs CONFIG_DEBUG_INFO_BTF=y)")
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return fmt.Errorf("record: the kernel has no BPF ring buffer (Linux 5.8+): %w", err)
	}
	return nil
}

func effectiveCaps() (caps.Set, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return caps.ParseHex(v)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// tracepoints are the ones the programs attach to (tp_btf/NAME).
var tracepoints = []string{"cap_capable", "sys_exit", "sched_process_exec", "sched_process_exit", "signal_deliver"}

func loadError(err error) error {
	var ve *ebpf.VerifierError
	switch {
	case errors.Is(err, btf.ErrNotFound):
		// The loader did not find a btf_trace_NAME type: name it.
		for _, tp := range tracepoints {
			if strings.Contains(err.Error(), tp) {
				return fmt.Errorf("record: the kernel has no %s tracepoint (cap_capable needs Linux 6.14+): %w", tp, err)
			}
		}
		return fmt.Errorf("record: the kernel lacks a type or tracepoint the recorder needs: %w", err)
	case errors.As(err, &ve):
		return fmt.Errorf("record: the kernel's verifier rejected the recorder: %w", err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("record: loading BPF programs was refused (EPERM; needs root, and kernel lockdown=confidentiality forbids it): %w", err)
	}
	return fmt.Errorf("record: loading the BPF programs: %w", err)
}

// cgroupID returns the cgroup v2 id of dir and its depth below the v2 root.
func cgroupID(dir string) (uint64, uint32, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return 0, 0, fmt.Errorf("record: cgroup %s: %w", dir, err)
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return 0, 0, fmt.Errorf("record: %s is not on a cgroup v2 file system (on this hybrid host use a directory under /sys/fs/cgroup/unified)", dir)
	}
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, dir, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("record: cgroup id of %s: %w", dir, err)
	}
	if h.Size() != 8 {
		return 0, 0, fmt.Errorf("record: cgroup %s: unexpected %d-byte file handle", dir, h.Size())
	}
	id := binary.NativeEndian.Uint64(h.Bytes())
	level, err := cgroupLevel(dir)
	if err != nil {
		return 0, 0, err
	}
	return id, level, nil
}

// cgroupLevel counts dir's components below the cgroup v2 root, adding the
// mount's own root for a mounted subtree.
func cgroupLevel(dir string) (uint32, error) {
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return 0, fmt.Errorf("record: cgroup %s: %w", dir, err)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		return 0, fmt.Errorf("record: reading mountinfo: %w", err)
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if (abs == m.Mountpoint || strings.HasPrefix(abs, strings.TrimSuffix(m.Mountpoint, "/")+"/")) &&
			(best == nil || len(m.Mountpoint) > len(best.Mountpoint)) {
			best = m
		}
	}
	if best == nil {
		return 0, fmt.Errorf("record: no cgroup2 mount holds %s", abs)
	}
	rel := strings.TrimPrefix(abs, best.Mountpoint)
	full := filepath.Join(best.Root, rel)
	n := uint32(0)
	for _, c := range strings.Split(full, "/") {
		if c != "" {
			n++
		}
	}
	return n, nil
}

// cacheDir keeps the kallsyms ranges per boot: kernel text addresses only
// change when the kernel boots (KASLR), and /run is emptied then.
const cacheDir = "/run/brig"

// noauditRangesCached is noauditRanges, cached per boot id in cacheDir.
func noauditRangesCached() ([]recordRange, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return noauditRanges()
	}
	file := filepath.Join(cacheDir, "record-noaudit-"+strings.TrimSpace(string(boot)))
	if rs, ok := readRangeCache(file); ok {
		return rs, nil
	}
	rs, err := noauditRanges()
	if err != nil {
		return nil, err
	}
	writeRangeCache(file, rs)
	return rs, nil
}

// readRangeCache trusts only a root-owned file nobody else can write.
func readRangeCache(file string) ([]recordRange, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Uid != 0 || st.Mode&0o022 != 0 {
		return nil, false
	}
	var rs []recordRange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a, b uint64
		if _, err := fmt.Sscanf(sc.Text(), "%x %x", &a, &b); err != nil || a == 0 || b <= a {
			return nil, false
		}
		rs = append(rs, recordRange{Start: a, End: b})
	}
	if sc.Err() != nil || len(rs) == 0 || len(rs) > len(noauditFuncs) {
		return nil, false
	}
	return rs, true
}

// writeRangeCache is best effort: without it the next Start reads kallsyms.
func writeRangeCache(file string, rs []recordRange) {
	if os.MkdirAll(cacheDir, 0o700) != nil {
		return
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%x %x\n", r.Start, r.End)
	}
	tmp := file + ".tmp"
	if os.WriteFile(tmp, []byte(b.String()), 0o600) == nil {
		os.Rename(tmp, file)
	}
}

// noauditRanges finds the text ranges of noauditFuncs in /proc/kallsyms;
// a function ends where the next symbol starts.
func noauditRanges() ([]recordRange, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, n := range noauditFuncs {
		want[n] = true
	}
	var out []recordRange
	var pending *recordRange
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || len(line) < sp+3 {
			continue
		}
		if pending != nil {
			if a, err := strconv.ParseUint(string(line[:sp]), 16, 64); err == nil && a > pending.Start {
				pending.End = a
				out = append(out, *pending)
				pending = nil
			}
		}
		name := line[sp+3:]
		if i := bytes.IndexAny(name, " \t"); i >= 0 {
			name = name[:i] // module symbols carry "\t[mod]"
		}
		if want[string(name)] {
			a, err := strconv.ParseUint(string(line[:sp]), 16, 64)
			if err != nil || a == 0 {
				return nil, errors.New("record: /proc/kallsyms hides addresses (kptr_restrict); cannot filter non-audited capability checks")
			}
			pending = &recordRange{Start: a}
			delete(want, string(name))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("record: reading /proc/kallsyms: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("record: none of the non-auditing capability helpers is in /proc/kallsyms")
	}
	return out, nil
}

func (r *Recorder) read() {
	defer close(r.done)
	for {
		rec, err := r.rd.Read()
		if err != nil {
			return // ErrFlushed at Stop, ErrClosed on release
		}
		r.handle(rec.RawSample)
	}
}

func (r *Recorder) handle(b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch b[0] {
	case evBind, evConnect:
		var e recordNetEvent
		if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
			return
		}
		ep, ok := endpoint(&e)
		if !ok {
			return
		}
		if e.Kind == evBind {
			r.bind[ep] = true
		} else {
			r.conn[ep] = true
		}
	case evFile:
		var e recordFileEvent
		if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
			return
		}
		p, ok := filePath(&e)
		if !ok {
			r.trunc++
			return
		}
		if e.Tmpfs != 0 {
			r.tmpfs[p] = true
		} else {
			r.files[p] = true
		}
	}
}

func endpoint(e *recordNetEvent) (profile.Endpoint, bool) {
	var ep profile.Endpoint
	switch {
	case e.Proto == unix.IPPROTO_TCP:
		ep.Proto = "tcp"
	case e.Proto == unix.IPPROTO_UDP:
		ep.Proto = "udp"
	case e.Proto == unix.IPPROTO_MPTCP:
		ep.Proto = "mptcp"
	case e.Proto == unix.IPPROTO_SCTP:
		ep.Proto = "sctp"
	case e.SkType == unix.SOCK_RAW:
		ep.Proto = "raw"
	default:
		ep.Proto = "other"
	}
	var a netip.Addr
	if e.Family == unix.AF_INET {
		a = netip.AddrFrom4([4]byte(e.Addr[:4]))
	} else {
		a = netip.AddrFrom16(e.Addr).Unmap()
	}
	if !a.IsUnspecified() {
		ep.Addr = a.String()
	}
	ep.Port = e.Port
	if e.Kind == evConnect && e.Port == 0 && ep.Proto != "raw" {
		return ep, false // AF_INET with port 0: not a real destination
	}
	return ep, true
}

func filePath(e *recordFileEvent) (string, bool) {
	if e.Truncated != 0 || int(e.Depth) > len(e.Names) {
		return "", false
	}
	parts := make([]string, 0, e.Depth)
	for i := int(e.Depth) - 1; i >= 0; i-- {
		n := e.Names[i][:]
		b := make([]byte, 0, len(n))
		for _, c := range n {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		if len(b) == len(n) {
			return "", false // name longer than the buffer
		}
		parts = append(parts, string(b))
	}
	return "/" + strings.Join(parts, "/"), true
}

// Stats reports what could not be recorded in full so far.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Truncated = r.trunc
	if !r.closed {
		var v uint64
		if r.objs.Counters.Lookup(uint32(0), &v) == nil {
			s.NoAudit = v
		}
		if r.objs.Counters.Lookup(uint32(1), &v) == nil {
			s.Lost = v
		}
	}
	return s
}

// Begun reports whether the container's first execve has been seen.
func (r *Recorder) Begun() bool {
	var v uint32
	return r.objs.State.Lookup(uint32(0), &v) == nil && v != 0
}

// Stop detaches the programs, drains the events and returns the profile.
// The programs and maps are gone when it returns, error or not.
func (r *Recorder) Stop() (*profile.Profile, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("record: already stopped")
	}
	r.mu.Unlock()
	for _, l := range r.links {
		l.Close()
	}
	r.links = nil
	// Flush makes Read return what is left, then ErrFlushed.
	flushErr := r.rd.Flush()
	if flushErr == nil {
		<-r.done
	}
	p, err := r.collect()
	r.stats = r.Stats()
	r.release()
	if flushErr != nil {
		return nil, fmt.Errorf("record: draining events: %w", flushErr)
	}
	return p, err
}

func (r *Recorder) collect() (*profile.Profile, error) {
	p := profile.New("x86_64")
	p.Command = append([]string(nil), r.opts.Command...)

	var seen uint8
	for nr := 0; nr < 1024; nr++ {
		if err := r.objs.Syscalls.Lookup(uint32(nr), &seen); err != nil {
			return nil, fmt.Errorf("record: reading syscalls: %w", err)
		}
		if seen != 0 {
			p.Syscalls = append(p.Syscalls, sysname(nr))
		}
	}

	var k recordCapKey
	var n uint64
	it := r.objs.Caps.Iterate()
	for it.Next(&k, &n) {
		c := profile.Capability{Name: caps.Cap(k.Cap).Name()}
		if k.Denied != 0 {
			c.Denied = n
		} else {
			c.Granted = n
		}
		if k.Nr >= 0 {
			c.Syscalls = []string{sysname(int(k.Nr))}
		}
		p.Capabilities = append(p.Capabilities, c)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("record: reading capability checks: %w", err)
	}

	r.mu.Lock()
	for e := range r.bind {
		p.Network.Bind = append(p.Network.Bind, e)
	}
	for e := range r.conn {
		p.Network.Connect = append(p.Network.Connect, e)
	}
	for f := range r.files {
		p.Files.Written = append(p.Files.Written, f)
	}
	for f := range r.tmpfs {
		p.Files.Tmpfs = append(p.Files.Tmpfs, f)
	}
	r.mu.Unlock()
	p.Normalize()
	return p, nil
}

func sysname(nr int) string {
	if s, ok := sysnames[nr]; ok {
		return s
	}
	return "syscall_" + strconv.Itoa(nr)
}

// release closes everything the kernel holds for this recorder.
func (r *Recorder) release() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	for _, l := range r.links {
		l.Close()
	}
	r.links = nil
	if r.rd != nil {
		r.rd.Close()
	}
	r.objs.Close()
}
