package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/slack"
	"github.com/brigrt/brig/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nsFlags maps namespace types to clone flags.
var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.MountNamespace: unix.CLONE_NEWNS, specs.PIDNamespace: unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

// procNS is the name of each namespace under /proc/PID/ns.
var procNS = map[specs.LinuxNamespaceType]string{
	specs.MountNamespace: "mnt", specs.PIDNamespace: "pid", specs.NetworkNamespace: "net",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// joinOrder puts the mount namespace last: once joined, host paths are gone.
var joinOrder = []specs.LinuxNamespaceType{
	specs.UserNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace,
	specs.PIDNamespace, specs.CgroupNamespace, specs.TimeNamespace, specs.MountNamespace,
}

// Create sets up a container from a bundle and leaves its init waiting
// for Start. On any error everything it made is removed again.
func (rt *Runtime) Create(id string, o CreateOpts) (st *State, err error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	spec, err := LoadBundle(o.Bundle)
	if err != nil {
		return nil, err
	}
	bundle, _ := filepath.Abs(o.Bundle)
	return rt.create(id, bundle, spec, o)
}

func (rt *Runtime) create(id, bundle string, spec *specs.Spec, o CreateOpts) (st *State, err error) {
	if spec.Process.Terminal && o.ConsoleSocket == "" {
		return nil, errors.New("process.terminal is true but no --console-socket was given")
	}
	if !spec.Process.Terminal && o.ConsoleSocket != "" {
		return nil, errors.New("--console-socket given but process.terminal is false")
	}
	var join []specs.LinuxNamespace
	var flags uintptr
	var newUser, newNet, newCgroup, newTime bool
	// A cgroup namespace to join is left to the init (see initCgroupNS):
	// the child is cloned into its cgroup (CLONE_INTO_CGROUP), which the
	// kernel refuses (ENOENT, with nsdelegate) to a parent inside a cgroup
	// namespace whose root does not hold the parent's own cgroup.
	var cgroupNS []specs.LinuxNamespace
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			switch ns.Type {
			case specs.UserNamespace:
				return nil, errors.New("joining an existing user namespace is not supported: Go cannot setns(CLONE_NEWUSER) once it runs threads; create a new user namespace with uidMappings instead")
			case specs.CgroupNamespace:
				cgroupNS = append(cgroupNS[:0], ns)
			default:
				join = append(join, ns)
			}
			continue
		}
		switch ns.Type {
		case specs.UserNamespace:
			newUser = true
		case specs.NetworkNamespace:
			newNet = true
		case specs.CgroupNamespace:
			newCgroup = true // unshared by the init once it is in its cgroup
			continue
		case specs.TimeNamespace:
			newTime = true // unshared on the forking thread: clone(2) cannot take it
			continue
		}
		flags |= nsFlags[ns.Type]
	}
	if err := checkNSPaths(append(cgroupNS, join...)); err != nil {
		return nil, err
	}
	cgPath, err := cgroupPath(id, spec)
	if err != nil {
		return nil, err
	}
	// Compiled before anything is made: a bad seccomp profile changes nothing.
	ispec, err := newInitSpec(spec)
	if err != nil {
		return nil, err
	}
	mgr, err := cgroup.NewCached(cgPath, filepath.Join(rt.Store.Root, cgroupCache))
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	if err := os.MkdirAll(rt.Store.Root, 0o711); err != nil {
		return nil, err
	}
	dir := rt.Store.dir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if os.IsExist(err) {
			return nil, fmt.Errorf("container with id %q already exists", id)
		}
		return nil, err
	}
	st = &State{ID: id, Bundle: bundle, Rootfs: spec.Root.Path, Created: time.Now().UTC(), Annotations: spec.Annotations, Phase: Creating, Spec: spec, Cgroup: mgr}
	var cmd *initProc
	defer func() {
		if err != nil {
			if cmd != nil && cmd.Process != nil {
				_ = cmd.Process.Kill()
				_, _ = cmd.Process.Wait()
			}
			rt.destroy(st)
		}
	}()
	// Saved before anything else exists, so that delete --force finds
	// and removes whatever a killed create leaves.
	if err := rt.Store.Save(st); err != nil {
		return st, err
	}
	trace.Mark("create: state saved")
	if err := mgr.CreateUnified(); err != nil {
		return st, fmt.Errorf("cgroups: %w", err)
	}
	fifoPath := filepath.Join(dir, "exec.fifo")
	if err := unix.Mkfifo(fifoPath, 0o600); err != nil {
		return st, fmt.Errorf("mkfifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, err
	}
	defer fifo.Close()
	self, err := sealedSelf(rt.InitBinary, dir)
	if err != nil {
		return st, err
	}
	defer self.Close()
	parentSock, childSock, err := newSyncPair()
	if err != nil {
		return st, err
	}
	defer parentSock.Close()
	var cgNS *os.File
	if len(cgroupNS) > 0 {
		if cgNS, err = os.Open(cgroupNS[0].Path); err != nil {
			return st, fmt.Errorf("namespace cgroup: %w", err)
		}
		defer cgNS.Close()
	}
	var syncFd int
	cmd, syncFd = initCmd(o.PreserveFds, childSock, fifo, self, cgNS, o.Stdin, o.Stdout, o.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if newUser {
		cmd.SysProcAttr.UidMappings = idMaps(spec.Linux.UIDMappings)
		cmd.SysProcAttr.GidMappings = idMaps(spec.Linux.GIDMappings)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
	}
	trace.Mark("create: fifo, sealed exe")
	if err := startInCgroup(cmd, mgr, join, newTime, spec.Linux.TimeOffsets); err != nil {
		childSock.Close()
		return st, fmt.Errorf("start container init: %w", err)
	}
	childSock.Close()
	st.Pid = cmd.Process.Pid
	trace.Mark("create: init started")
	// While the init's runtime starts up: the v1 directories it moves
	// itself into (see cgroup.JoinSelf) as soon as it has its config.
	if err := mgr.CreateV1(); err != nil {
		return st, fmt.Errorf("cgroups: %w", err)
	}
	if spec.Process.SelinuxLabel != "" && !selinuxEnabled() {
		rt.warn("SELinux is not enabled on this host; selinuxLabel %q is not applied", spec.Process.SelinuxLabel)
	}
	cfg := initConfig{
		Trace: trace.On(),
		ID:    id, Spec: ispec, Process: spec.Process, Bundle: bundle,
		NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring, PreserveFds: o.PreserveFds,
		FifoFd: syncFd + 1, NewUserNS: newUser, NewNetNS: newNet, NewCgroupNS: newCgroup,
		Cgroup: st.Cgroup, OldKernel: testOldKernel, TimerSlack: slack.Original,
	}
	if cgNS != nil {
		cfg.CgroupNsFd = syncFd + 3
	}
	conn := syncConn{parentSock}
	if err := conn.sendConfig(&cfg); err != nil {
		return st, err
	}
	// The pid is saved with the Created state, not now: until then a
	// killed create leaves an init that is either in the container's
	// cgroups (delete --force kills it there) or about to exit on the
	// closed sync socket.
	st.StartTime, _ = startTime(st.Pid)
	trace.Mark("create: config sent")
	if err := rt.serveInit(conn, st, o.ConsoleSocket); err != nil {
		return st, err
	}
	trace.Mark("create: init ready")
	st.NsPaths = map[string]string{}
	for _, ns := range spec.Linux.Namespaces {
		st.NsPaths[string(ns.Type)] = "/proc/" + strconv.Itoa(st.Pid) + "/ns/" + procNS[ns.Type]
	}
	st.Phase = Created
	if err := rt.Store.Save(st); err != nil {
		return st, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, st.Pid); err != nil {
			return st, err
		}
	}
	return st, nil
}

// serveInit answers the init until it is ready: console fds, hooks.
func (rt *Runtime) serveInit(conn syncConn, st *State, consoleSocket string) error {
	for {
		m, fd, err := conn.recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("container init exited during setup")
			}
			return err
		}
		switch m.Type {
		case msgError:
			return errors.New(m.Error)
		case msgConsole:
			err := sendConsole(consoleSocket, fd)
			unix.Close(fd)
			if err != nil {
				return err
			}
		case msgHooks:
			// Limits go on once the init has made its device nodes, as
			// runc does: the spec's device rules may deny mknod itself.
			if st.Cgroup != nil {
				if err := st.Cgroup.Set(st.Spec.Linux.Resources); err != nil {
					return fmt.Errorf("cgroups: set resources: %w", err)
				}
			}
			trace.Mark("create: cgroup limits set")
			if h := st.Spec.Hooks; h != nil {
				state := st.OCIState(Creating)
				//lint:ignore SA1019 prestart is deprecated but engines still send it
				if err := runHooks("prestart", h.Prestart, state); err != nil {
					return err
				}
				if err := runHooks("createRuntime", h.CreateRuntime, state); err != nil {
					return err
				}
			}
			if err := conn.send(syncMsg{Type: msgHooksOK}, -1); err != nil {
				return err
			}
		case msgSeccomp:
			if err := rt.passListener(conn, st.Spec, st.Pid, st.OCIState(Creating), fd); err != nil {
				return err
			}
		case msgReady:
			return nil
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// passListener forwards a seccomp listener from the init to the agent at
// the spec's listenerPath and tells the init it may go on.
func (rt *Runtime) passListener(conn syncConn, spec *specs.Spec, pid int, state specs.State, fd int) error {
	if fd < 0 {
		return errors.New("seccomp: the init sent no listener fd")
	}
	defer unix.Close(fd)
	sc := spec.Linux.Seccomp
	if sc == nil || sc.ListenerPath == "" {
		return errors.New("seccomp: the init sent a listener but the spec has no listenerPath")
	}
	if err := sendSeccompListener(sc.ListenerPath, sc.ListenerMetadata, pid, state, fd); err != nil {
		return err
	}
	return conn.send(syncMsg{Type: msgSeccompOK}, -1)
}

// initCmd prepares the re-executed init. Its fds: 0-2 stdio, 3.. the
// preserved ones, then the sync socket, aux (the exec fifo for create, the
// container's mount namespace for exec), the runtime binary it is exec'd
// from (see sealedSelf; the init closes that one first) and, if not nil,
// a cgroup namespace to join (see initCgroupNS). It returns the sync
// socket's fd number in the child.
func initCmd(preserve int, sync, aux, self, cgroupNS, stdin, stdout, stderr *os.File) (*initProc, int) {
	extra := make([]*os.File, 0, preserve+4)
	for i := 0; i < preserve; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	syncFd := 3 + len(extra)
	extra = append(extra, sync, aux, self)
	if cgroupNS != nil {
		extra = append(extra, cgroupNS)
	}
	return &initProc{
		Path: "/proc/self/fd/" + strconv.Itoa(syncFd+2),
		Args: []string{"brig-runtime", "init"},
		// GOMAXPROCS and GOGC as Init sets them, but from the start: the
		// runtime then makes one P, not one per CPU, and changes nothing
		// later. profstackdepth=0 spares each thread two profiling stack
		// buffers nothing here would fill. The container's process gets
		// its own environment.
		Env:        []string{envMode + "=1", envSync + "=" + strconv.Itoa(syncFd), "GOMAXPROCS=1", "GOGC=off", "GODEBUG=profstackdepth=0"},
		Stdin:      orStd(stdin, os.Stdin),
		Stdout:     orStd(stdout, os.Stdout),
		Stderr:     orStd(stderr, os.Stderr),
		ExtraFiles: extra,
	}, syncFd
}

func orStd(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func idMaps(in []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(in))
	for _, m := range in {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

func checkNSPaths(join []specs.LinuxNamespace) error {
	for _, ns := range join {
		f, err := os.Open(ns.Path)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns.Type, err)
		}
		var st unix.Statfs_t
		err = unix.Fstatfs(int(f.Fd()), &st)
		f.Close()
		if err != nil {
			return err
		}
		if st.Type != unix.NSFS_MAGIC {
			return fmt.Errorf("namespace %s: %s is not a namespace file", ns.Type, ns.Path)
		}
	}
	return nil
}

// startIn starts cmd after joining the given namespaces (and unsharing a
// new time namespace) on a dedicated OS thread. The child inherits that
// thread's namespaces; the thread is never unlocked, so Go discards it
// afterwards instead of reusing it in its altered state.
func startIn(cmd *initProc, join []specs.LinuxNamespace, newTime bool, offsets map[string]specs.LinuxTimeOffset) error {
	if len(join) == 0 && !newTime {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go joinAndStart(errc, cmd, join, newTime, offsets)
	return <-errc
}

func joinAndStart(errc chan<- error, cmd *initProc, join []specs.LinuxNamespace, newTime bool, offsets map[string]specs.LinuxTimeOffset) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread cannot exit, so Go would keep it, wedged, in
		// the container's namespaces: /proc/PID/ns and /proc/PID/root of
		// this whole process would then point into the container and
		// hold its namespaces alive. Occupy it here; join from another.
		inner := make(chan error, 1)
		go joinAndStart(inner, cmd, join, newTime, offsets)
		err := <-inner
		runtime.UnlockOSThread()
		errc <- err
		return
	}
	errc <- func() error {
		fds := map[specs.LinuxNamespaceType]int{}
		for _, ns := range join {
			fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", ns.Path, err)
			}
			defer unix.Close(fd)
			fds[ns.Type] = fd
		}
		if _, ok := fds[specs.MountNamespace]; ok {
			// setns(mnt) is refused while the fs_struct is shared with
			// other threads.
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("unshare CLONE_FS: %w", err)
			}
		}
		for _, t := range joinOrder {
			fd, ok := fds[t]
			if !ok {
				continue
			}
			if err := unix.Setns(fd, int(nsFlags[t])); err != nil {
				if errors.Is(err, unix.EUSERS) || (t == specs.TimeNamespace && errors.Is(err, unix.EINVAL)) {
					return fmt.Errorf("join %s namespace: the kernel only lets single-threaded processes do this, and Go is multi-threaded: %w", t, err)
				}
				return fmt.Errorf("join %s namespace %s: %w", t, pathOf(join, t), err)
			}
		}
		if newTime {
			if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
				return fmt.Errorf("unshare time namespace: %w", err)
			}
			if err := writeTimeOffsets(offsets); err != nil {
				return err
			}
		}
		return cmd.Start()
	}()
}

func pathOf(ns []specs.LinuxNamespace, t specs.LinuxNamespaceType) string {
	for _, n := range ns {
		if n.Type == t {
			return n.Path
		}
	}
	return ""
}

func writeTimeOffsets(off map[string]specs.LinuxTimeOffset) error {
	var b strings.Builder
	for clock, o := range off {
		switch clock {
		case "monotonic", "boottime":
		default:
			return fmt.Errorf("timeOffsets: unknown clock %q", clock)
		}
		fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := os.WriteFile("/proc/thread-self/timens_offsets", []byte(b.String()), 0); err != nil {
		return fmt.Errorf("time offsets: %w", err)
	}
	return nil
}

// sendConsole hands the pty master to the engine's console socket, the way
// runc does (one SCM_RIGHTS message with the name as payload).
func sendConsole(path string, fd int) error {
	if err := sendFd(path, []byte("/dev/ptmx"), fd); err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	return nil
}

// sendFd connects to the unix socket at path and sends payload with fd
// attached, in one message: runc's way to hand over a console and a
// seccomp listener. Raw system calls: the net package would add a
// megabyte to every runtime start.
func sendFd(path string, payload []byte, fd int) error {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if err := unix.Connect(s, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("connect %s: %w", path, err)
	}
	if err := unix.Sendmsg(s, payload, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send to %s: %w", path, err)
	}
	return nil
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return rawio.WriteFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}

// startTime reads field 22 of /proc/PID/stat (in clock ticks since boot),
// which together with the pid identifies a process across pid reuse.
func startTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.start, nil
}

type procStat struct {
	state byte
	start uint64
}

func readStat(pid int) (procStat, error) {
	data, err := readFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procStat{}, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 {
		return procStat{}, errors.New("bad /proc stat")
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return procStat{state: f[0][0], start: start}, err
}

// alive reports whether the container's init still runs (a zombie counts
// as gone: it has exited, its parent just has not reaped it).
func (s *State) alive() bool {
	if s.Pid <= 0 {
		return false
	}
	ps, err := readStat(s.Pid)
	return err == nil && ps.start == s.StartTime && ps.state != 'Z' && ps.state != 'X'
}

// Status derives the container's status from the kernel.
func (rt *Runtime) Status(s *State) string {
	if s.Phase == Creating {
		return Creating
	}
	if !s.alive() {
		return Stopped
	}
	// Created: the init still waits on the fifo. start removes the fifo
	// once the init took the signal, and the init renames itself by
	// execve, so either one going means it has been started.
	if comm, err := readFile("/proc/" + strconv.Itoa(s.Pid) + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "brig-init" {
		if _, err := os.Stat(filepath.Join(rt.Store.dir(s.ID), "exec.fifo")); err == nil {
			return Created
		}
	}
	if s.Cgroup != nil {
		if f, err := s.Cgroup.Frozen(); err == nil && f {
			return Paused
		}
	}
	return Running
}

// Start releases a created container's init to exec its process.
func (rt *Runtime) Start(id string) error {
	st, err := rt.Store.Load(id)
	if err != nil {
		return err
	}
	return rt.start(st)
}

func (rt *Runtime) start(st *State) error {
	if status := rt.Status(st); status != Created {
		return fmt.Errorf("cannot start a container that is %s", status)
	}
	return rt.release(st)
}

// release lets a created container's init exec its process and runs the
// poststart hooks. Run calls it straight after create, whose container
// it knows to be Created without reading /proc.
func (rt *Runtime) release(st *State) error {
	id := st.ID
	fifoPath := filepath.Join(rt.Store.dir(id), "exec.fifo")
	// Non-blocking open: the init holds the write end open (it is blocked
	// in open(O_WRONLY)), so this pairs with it at once.
	// Plain system calls: an os.File would set up the netpoller for it.
	fd, err := unix.Open(fifoPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container %q is not waiting to start: %w", id, &os.PathError{Op: "open", Path: fifoPath, Err: err})
	}
	var buf [1]byte
	n, err := unix.Read(fd, buf[:])
	for err == unix.EINTR {
		n, err = unix.Read(fd, buf[:])
	}
	unix.Close(fd)
	if err != nil || n != 1 {
		return fmt.Errorf("container %q init did not take the start signal (it may have exited)", id)
	}
	_ = os.Remove(fifoPath)
	if h := st.Spec.Hooks; h != nil && len(h.Poststart) > 0 {
		if err := runHooks("poststart", h.Poststart, st.OCIState(Running)); err != nil {
			return err
		}
	}
	return nil
}

// ParseSignal accepts "9", "KILL" or "SIGKILL".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func killPid(pid int, sig unix.Signal) error {
	// A pidfd pins the process: the signal cannot reach a recycled pid.
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func (rt *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	st, err := rt.Store.Load(id)
	if err != nil {
		return err
	}
	status := rt.Status(st)
	if status == Stopped || status == Creating {
		return fmt.Errorf("container %q is not running", id)
	}
	if all && st.Cgroup != nil {
		pids, err := st.Cgroup.Pids()
		if err != nil {
			return err
		}
		for _, p := range pids {
			_ = killPid(p, sig)
		}
		if status == Paused && sig == unix.SIGKILL {
			_ = st.Cgroup.Freeze(false)
		}
		return nil
	}
	if err := killPid(st.Pid, sig); err != nil {
		return fmt.Errorf("kill %d: %w", st.Pid, err)
	}
	return nil
}

// Delete removes a stopped container; with force it kills it first.
func (rt *Runtime) Delete(id string, force bool) error {
	st, err := rt.Store.Load(id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	return rt.delete(st, force)
}

func (rt *Runtime) delete(st *State, force bool) error {
	id := st.ID
	status := rt.Status(st)
	if status != Stopped && status != Creating && !force {
		return fmt.Errorf("cannot delete container %q that is %s (use --force)", id, status)
	}
	rt.destroy(st)
	rt.poststop(st, status)
	return nil
}

// deleteReaped is delete for Run, once it has reaped the init: the
// container is Stopped, and its pid is free for anyone to reuse, so
// there is nothing to look up or kill by it.
func (rt *Runtime) deleteReaped(st *State) {
	rt.removeAll(st)
	rt.poststop(st, Stopped)
}

func (rt *Runtime) poststop(st *State, status string) {
	if status != Creating && st.Spec != nil && st.Spec.Hooks != nil && len(st.Spec.Hooks.Poststop) > 0 {
		// Poststop failures are logged, not fatal, as the spec requires.
		if err := runHooks("poststop", st.Spec.Hooks.Poststop, st.OCIState(Stopped)); err != nil {
			rt.warn("%v", err)
		}
	}
}

// destroy kills whatever is left of the container and removes its cgroups
// and state directory. It tolerates every partial state create can leave.
func (rt *Runtime) destroy(st *State) {
	m := st.Cgroup
	if st.alive() {
		_ = killPid(st.Pid, unix.SIGKILL)
		if m != nil {
			_ = m.Freeze(false) // a paused init must run to die
		}
	}
	waitGone(st)
	trace.Mark("destroy: init gone")
	rt.removeAll(st)
}

// removeAll removes a container whose init is gone: its cgroups, with
// whatever is left in them, and its state directory.
func (rt *Runtime) removeAll(st *State) {
	m := st.Cgroup
	// With the init gone, its cgroups are usually empty already: the
	// kernel killed the rest of a private pid namespace with it. Removing
	// them is the cheapest proof. Only when one is busy (a shared pid
	// namespace, say) are its processes looked up and killed.
	if m != nil && m.TryDestroy() != nil {
		_ = killCgroup(m)
		trace.Mark("destroy: cgroup killed")
		if err := m.Destroy(); err != nil {
			rt.warn("%v", err)
		}
	}
	trace.Mark("destroy: cgroups removed")
	dir := rt.Store.dir(st.ID)
	if st.Phase != Created {
		// A create killed between mounting and detaching the runtime's
		// read-only bind (see sealedSelf) leaves it mounted here.
		_ = unix.Unmount(filepath.Join(dir, ".runtime-exe"), unix.MNT_DETACH)
	}
	removeStateDir(dir)
}

// removeStateDir removes a container's state directory. A finished create
// leaves state.json, creating.json and exec.fifo there, so those go by
// name; whatever a killed create or save left as well is RemoveAll's.
func removeStateDir(dir string) {
	for _, f := range []string{stateFile, creatingFile, "exec.fifo"} {
		_ = unix.Unlink(dir + "/" + f)
	}
	if unix.Rmdir(dir) != nil {
		_ = os.RemoveAll(dir)
	}
}

func waitGone(st *State) {
	for i := 0; i < 1000 && st.alive(); i++ {
		time.Sleep(time.Millisecond)
	}
}

// WaitExec returns once a started container's init has exec'd the
// container's process (or died): until then it is still the runtime,
// named brig-init. Usually well under a millisecond; at most a second.
func WaitExec(st *State) {
	for i := 0; i < 2000; i++ {
		comm, err := readFile("/proc/" + strconv.Itoa(st.Pid) + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "brig-init" {
			return
		}
		time.Sleep(time.Millisecond / 2)
	}
}

// Pause freezes every process of the container.
func (rt *Runtime) Pause(id string) error { return rt.freeze(id, true) }

// Resume thaws a paused container.
func (rt *Runtime) Resume(id string) error { return rt.freeze(id, false) }

func (rt *Runtime) freeze(id string, freeze bool) error {
	st, err := rt.Store.Load(id)
	if err != nil {
		return err
	}
	status := rt.Status(st)
	if freeze && status != Running && status != Created {
		return fmt.Errorf("container %q is %s, not running", id, status)
	}
	if !freeze && status != Paused {
		return fmt.Errorf("container %q is not paused", id)
	}
	if freeze && status == Running {
		// Just started: let the init finish its execve first. The v1
		// freezer cannot stop a task that waits in execve for its other
		// (already frozen) threads to die.
		WaitExec(st)
	}
	return st.Cgroup.Freeze(freeze)
}

// Pids lists the host pids of the container's processes.
func (rt *Runtime) Pids(id string) ([]int, error) {
	st, err := rt.Store.Load(id)
	if err != nil {
		return nil, err
	}
	if st.Cgroup == nil {
		return nil, nil
	}
	return st.Cgroup.Pids()
}

// Update changes the resource limits of a created, running or paused
// container, as `runc update` does: the fields r sets replace the
// container's, in its cgroups and in its saved spec. Bad input changes
// nothing; if the kernel refuses a value half-way, what was written is
// set back to the container's previous limits.
func (rt *Runtime) Update(id string, r *specs.LinuxResources) error {
	st, err := rt.Store.Load(id)
	if err != nil {
		return err
	}
	if s := rt.Status(st); s == Stopped || s == Creating {
		return fmt.Errorf("cannot update container %q that is %s", id, s)
	}
	if st.Cgroup == nil || st.Spec == nil || st.Spec.Linux == nil {
		return fmt.Errorf("container %q has no cgroups to update", id)
	}
	cur := st.Spec.Linux.Resources
	merged, err := MergeResources(cur, r)
	if err != nil {
		return err
	}
	if m := r.Memory; m != nil && m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && m.Limit != nil && *m.Limit > 0 {
		used, err := st.Cgroup.MemoryUsage()
		if err != nil {
			return err
		}
		if used > *m.Limit {
			return fmt.Errorf("memory limit %d is below what the container uses now (%d); not updated", *m.Limit, used)
		}
	}
	if err := st.Cgroup.Set(changed(merged, r)); err != nil {
		if cur != nil {
			old := *cur
			old.Devices = nil // the rules in place stay; rewriting them would briefly deny
			_ = st.Cgroup.Set(&old)
		}
		return fmt.Errorf("update %s: %w", id, err)
	}
	st.Spec.Linux.Resources = merged
	return rt.Store.Save(st)
}

// OOMKills reports how many processes the kernel OOM-killed in the container.
func (rt *Runtime) OOMKills(st *State) (uint64, error) {
	if st.Cgroup == nil {
		return 0, nil
	}
	return st.Cgroup.OOMKills()
}

// Exec runs a new process in a running container. Without Detach it waits
// and returns the process's exit status, relaying every signal this
// process receives to it; the handlers stay registered afterwards (see
// relay).
func (rt *Runtime) Exec(id string, o ExecOpts) (int, error) {
	st, err := rt.Store.Load(id)
	if err != nil {
		return -1, err
	}
	if status := rt.Status(st); status != Running && status != Created {
		return -1, fmt.Errorf("cannot exec in a container that is %s", status)
	}
	p := o.Process
	if err := ValidateProcess(p); err != nil {
		return -1, err
	}
	if p.Terminal && o.ConsoleSocket == "" && o.Detach {
		return -1, errors.New("a detached exec with a terminal needs --console-socket")
	}
	var sigs *relay
	if !o.Detach {
		sigs = startRelay()
	}
	var join []specs.LinuxNamespace
	var cgroupNS bool
	for _, ns := range st.Spec.Linux.Namespaces {
		switch ns.Type {
		case specs.UserNamespace:
			return -1, errors.New("exec into a container with a user namespace is not supported: Go cannot setns(CLONE_NEWUSER) once it runs threads")
		case specs.TimeNamespace:
			return -1, errors.New("exec into a container with a time namespace is not supported: the kernel lets only single-threaded processes join one")
		case specs.MountNamespace:
			continue // joined by the exec'd init itself, see initExec
		case specs.CgroupNamespace:
			cgroupNS = true // likewise, see create
			continue
		}
		join = append(join, specs.LinuxNamespace{Type: ns.Type, Path: fmt.Sprintf("/proc/%d/ns/%s", st.Pid, procNS[ns.Type])})
	}
	var cgNS *os.File
	if cgroupNS {
		if cgNS, err = os.Open(fmt.Sprintf("/proc/%d/ns/cgroup", st.Pid)); err != nil {
			return -1, fmt.Errorf("open cgroup namespace: %w", err)
		}
		defer cgNS.Close()
	}
	ispec, err := newInitSpec(st.Spec)
	if err != nil {
		return -1, err
	}
	// The mount namespace is joined by the child: after setns(mnt) here,
	// /proc/self/fd/N (the sealed runtime copy) would be looked up in the
	// container's /proc, where this process does not exist.
	mntNS, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", st.Pid))
	if err != nil {
		return -1, fmt.Errorf("open mount namespace: %w", err)
	}
	defer mntNS.Close()
	self, err := sealedSelf(rt.InitBinary, rt.Store.dir(id))
	if err != nil {
		return -1, err
	}
	defer self.Close()
	parentSock, childSock, err := newSyncPair()
	if err != nil {
		return -1, err
	}
	defer parentSock.Close()
	cmd, syncFd := initCmd(o.PreserveFds, childSock, mntNS, self, cgNS, o.Stdin, o.Stdout, o.Stderr)
	if err := startInCgroup(cmd, st.Cgroup, join, false, nil); err != nil {
		childSock.Close()
		return -1, fmt.Errorf("start exec process: %w", err)
	}
	childSock.Close()
	fail := func(err error) (int, error) {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return -1, err
	}
	cfg := initConfig{ID: id, Exec: true, Spec: ispec, Process: p, Bundle: st.Bundle, PreserveFds: o.PreserveFds, MntNsFd: syncFd + 1, Cgroup: st.Cgroup, TimerSlack: slack.Original}
	if cgNS != nil {
		cfg.CgroupNsFd = syncFd + 3
	}
	conn := syncConn{parentSock}
	if err := conn.sendConfig(&cfg); err != nil {
		return fail(err)
	}
	for {
		m, fd, err := conn.recv()
		if errors.Is(err, io.EOF) {
			break // execve succeeded: the close-on-exec socket closed
		}
		if err != nil {
			return fail(err)
		}
		if m.Type == msgError {
			return fail(errors.New(m.Error))
		}
		switch m.Type {
		case msgConsole:
			err := sendConsole(o.ConsoleSocket, fd)
			unix.Close(fd)
			if err != nil {
				return fail(err)
			}
		case msgSeccomp:
			if err := rt.passListener(conn, st.Spec, cmd.Process.Pid, st.OCIState(Running), fd); err != nil {
				return fail(err)
			}
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, cmd.Process.Pid); err != nil {
			return fail(err)
		}
	}
	if o.Detach {
		return 0, nil
	}
	return sigs.wait(cmd.Process)
}

// Run creates and starts a container; unless detach, it waits for it,
// deletes it and returns its exit status. While it waits, every signal
// this process receives goes to the container's process; one that comes
// before the container started removes it instead. The handlers stay
// registered afterwards (see relay).
func (rt *Runtime) Run(id string, o CreateOpts, detach bool) (int, error) {
	if err := ValidID(id); err != nil {
		return -1, err
	}
	spec, err := LoadBundle(o.Bundle)
	if err != nil {
		return -1, err
	}
	bundle, _ := filepath.Abs(o.Bundle)
	var sigs *relay
	if !detach {
		sigs = startRelay()
	}
	st, err := rt.create(id, bundle, spec, o)
	if err != nil {
		return -1, err
	}
	trace.Mark("run: created")
	if sigs != nil {
		if s := sigs.interrupted(); s != nil {
			_ = rt.delete(st, true)
			return -1, fmt.Errorf("interrupted by %v before the container started; it was removed", s)
		}
	}
	if err := rt.release(st); err != nil {
		_ = rt.delete(st, true)
		return -1, err
	}
	trace.Mark("run: started")
	if detach {
		return 0, nil
	}
	code, err := sigs.wait(&child{Pid: st.Pid}) // our child, unreaped
	trace.Mark("run: exited")
	rt.deleteReaped(st)
	trace.Mark("run: deleted")
	return code, err
}

// StateJSON is `state`'s output.
func (rt *Runtime) StateJSON(id string) ([]byte, error) {
	st, err := rt.Store.Load(id)
	if err != nil {
		return nil, err
	}
	full := struct {
		specs.State
		Created string `json:"created"`
		Rootfs  string `json:"rootfs,omitempty"`
	}{st.OCIState(rt.Status(st)), st.Created.Format(time.RFC3339Nano), st.Rootfs}
	return json.MarshalIndent(full, "", "  ")
}
