package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/netlo"
	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/runtime/wire"
	"github.com/brigrt/brig/internal/seccomp"
	"github.com/brigrt/brig/internal/slack"
	"github.com/brigrt/brig/internal/specjson"
	"github.com/brigrt/brig/internal/trace"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// initConfig is what the parent sends the init over the sync socket.
type initConfig = wire.InitConfig

// Environment variables that carry the init's fds across the re-exec.
const (
	envSync = "_BRIG_SYNC_FD"
	envMode = "_BRIG_INIT"
)

func init() {
	// The container init renames itself (PR_SET_NAME, which names the
	// calling thread) and Status reads /proc/PID/comm, the main thread's
	// name: so the init must run on the main thread, and only during
	// package initialisation is the main goroutine sure to be there.
	if IsInit() {
		runtime.LockOSThread()
	}
}

// IsInit reports whether this process was started as a container init; the
// binaries' main functions check it before doing anything else.
func IsInit() bool { return os.Getenv(envMode) != "" }

// Init is the container side of create and exec. It never returns: it
// execs the container process or exits non-zero after telling the parent why.
func Init() {
	// Credentials, seccomp and LSM labels are per thread; everything below
	// happens on this one thread and ends in execve from it.
	runtime.LockOSThread()
	// A short, sequential life: no garbage collection, one P (see
	// cmd/brig-runtime, whose import of slack/early calms sysmon too).
	// The container's process starts afresh at execve, with its timer
	// slack restored (see finalize).
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	fd, err := strconv.Atoi(os.Getenv(envSync))
	if err != nil {
		fmt.Fprintln(rawio.FD(2), "brig-runtime init: no sync fd")
		os.Exit(1)
	}
	os.Unsetenv(envSync)
	os.Unsetenv(envMode)
	// fd+2 is the runtime binary this init was exec'd from (see
	// sealedSelf); nothing after execve needs it.
	unix.Close(fd + 2)
	conn := syncConn{os.NewFile(uintptr(fd), "sync")}
	// Nothing in the container may read this process's memory or open its
	// fds through /proc while it still holds runtime secrets.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	m, _, err := conn.expect(msgConfig)
	if err != nil {
		os.Exit(1) // the parent is gone; nothing to report to
	}
	var cfg initConfig
	if err := specjson.DecodeInit(m.Data, &cfg); err != nil {
		_ = conn.send(syncMsg{Type: msgError, Error: "bad init config: " + err.Error()}, -1)
		os.Exit(1)
	}
	if cfg.Trace {
		trace.Enable()
		trace.Mark("init: config received")
	}
	if cfg.Exec {
		err = initExec(conn, &cfg)
	} else {
		err = initCreate(conn, &cfg)
	}
	// Only reached on failure.
	_ = conn.send(syncMsg{Type: msgError, Error: err.Error()}, -1)
	os.Exit(1)
}

func initCreate(conn syncConn, cfg *initConfig) error {
	s := cfg.Spec
	testOldKernel = cfg.OldKernel
	if err := joinCgroups(cfg); err != nil {
		return err
	}
	if cfg.NewNetNS {
		if err := netlo.Up(); err != nil {
			return fmt.Errorf("bring up loopback: %w", err)
		}
	}
	p := cfg.Process
	if p.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
	}
	// Labels the loaded policy rejects fail here, at create, naming the
	// label, rather than as a bare EINVAL from a mount or at exec.
	if err := checkLabels(p.SelinuxLabel, s.MountLabel); err != nil {
		return err
	}
	r := &rootfs{cfg: cfg, spec: s, root: s.Root.Path, userns: cfg.NewUserNS}
	if err := r.prepare(); err != nil {
		return err
	}
	if err := r.devices(); err != nil {
		return err
	}
	trace.Mark("init: mounts done")
	if err := conn.send(syncMsg{Type: msgHooks}, -1); err != nil {
		return err
	}
	if _, _, err := conn.expect(msgHooksOK); err != nil {
		return err
	}
	if cfg.NewCgroupNS {
		// Unshared now, inside the container's cgroup, so that is the
		// namespace's root.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if err := initCgroupNS(cfg); err != nil {
		return err
	}
	if len(s.CreateContainer) > 0 {
		st := specs.State{Version: specs.Version, ID: cfg.ID, Status: Creating, Pid: os.Getpid(), Bundle: cfg.Bundle, Annotations: s.Annotations}
		if err := runHooks("createContainer", s.CreateContainer, st); err != nil {
			return err
		}
	}
	// The cwd is created inside the rootfs if missing, and resolved
	// without following magic links, so /proc/self/fd/N cannot serve as
	// a way out (CVE-2024-21626); finalize checks it again after chdir.
	if d, err := r.mkdirAll(p.Cwd); err != nil {
		return fmt.Errorf("cwd %q: %w", p.Cwd, err)
	} else {
		d.Close()
	}
	if err := r.pivot(cfg.NoPivot); err != nil {
		return err
	}
	if rootHandle != nil {
		rootHandle.Close()
		rootHandle = nil
	}
	if err := maskPaths(s.MaskedPaths, s.MountLabel); err != nil {
		return err
	}
	if err := readonlyPaths(s.ReadonlyPaths); err != nil {
		return err
	}
	if s.Root.Readonly {
		if err := remountPath("/", unix.MS_RDONLY); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("setdomainname: %w", err)
		}
	}
	for k, v := range s.Sysctl {
		path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(path, []byte(v), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	trace.Mark("init: pivot, masks, sysctls done")
	if err := setupProcess(conn, cfg, p); err != nil {
		return err
	}
	argv0, err := lookPath(p)
	if err != nil {
		return err
	}
	filter, err := seccompFilter(s, conn)
	if err != nil {
		return err
	}
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte("brig-init\x00")[0])), 0, 0, 0)
	if err := conn.send(syncMsg{Type: msgReady}, -1); err != nil {
		return err
	}
	conn.f.Close()
	// Block until `start` opens the fifo for reading. Plain system calls:
	// an os.File would set up the netpoller for this one write.
	fifoPath := "/proc/self/fd/" + strconv.Itoa(cfg.FifoFd)
	fifo, err := unix.Open(fifoPath, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fifo, err = unix.Open(fifoPath, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: "exec fifo", Err: err}
	}
	_, err = unix.Write(fifo, []byte{0})
	unix.Close(fifo)
	if err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	unix.Close(cfg.FifoFd)
	trace.Mark("init: started")
	if len(s.StartContainer) > 0 {
		st := specs.State{Version: specs.Version, ID: cfg.ID, Status: Running, Pid: os.Getpid(), Bundle: cfg.Bundle, Annotations: s.Annotations}
		if err := runHooks("startContainer", s.StartContainer, st); err != nil {
			fatal(err)
		}
	}
	fatal(finalize(cfg, p, argv0, filter))
	return nil
}

// joinCgroups moves this thread, the one that will exec the container's
// process, into the container's v1 cgroups; the parent had it born in the
// v2 one (see startInCgroup).
func joinCgroups(cfg *initConfig) error {
	if cfg.Cgroup == nil {
		return nil
	}
	if err := cfg.Cgroup.JoinSelf(); err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	trace.Mark("init: joined cgroups")
	return nil
}

// initCgroupNS joins the cgroup namespace the runtime passed, on this
// thread, which is the one that execs (see create for why the runtime
// does not join it itself).
func initCgroupNS(cfg *initConfig) error {
	if cfg.CgroupNsFd <= 0 {
		return nil
	}
	if err := unix.Setns(cfg.CgroupNsFd, unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("join cgroup namespace: %w", err)
	}
	unix.Close(cfg.CgroupNsFd)
	return nil
}

// fatal reports an error after the parent is gone: stderr is all we have.
func fatal(err error) {
	fmt.Fprintln(rawio.FD(2), "brig-runtime init:", err)
	os.Exit(127)
}

func initExec(conn syncConn, cfg *initConfig) error {
	p := cfg.Process
	// go-selinux decides whether SELinux is on by finding selinuxfs in
	// this mount namespace's mountinfo, and caches the answer. Ask before
	// joining the container's namespace, which has no selinuxfs: there
	// the answer is "off" and exec'd processes would keep our label.
	if p.SelinuxLabel != "" {
		selinuxEnabled()
	}
	// Host paths: before the container's mount namespace.
	if err := joinCgroups(cfg); err != nil {
		return err
	}
	if err := initCgroupNS(cfg); err != nil {
		return err
	}
	if cfg.MntNsFd > 0 {
		// setns(mnt) needs a private fs_struct; this locked thread gets
		// one and is the thread that execs, so the process ends up
		// entirely inside the container's mount namespace.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare CLONE_FS: %w", err)
		}
		if err := unix.Setns(cfg.MntNsFd, unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("join mount namespace: %w", err)
		}
		unix.Close(cfg.MntNsFd)
	}
	if p.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
	}
	if err := setupProcess(conn, cfg, p); err != nil {
		return err
	}
	argv0, err := lookPath(p)
	if err != nil {
		return err
	}
	filter, err := seccompFilter(cfg.Spec, conn)
	if err != nil {
		return err
	}
	// The sync socket is close-on-exec: the parent sees EOF once execve
	// succeeded, or the error message below if it did not.
	return finalize(cfg, p, argv0, filter)
}

// setupProcess does what must happen while the init still has all its
// privileges: console, rlimits, oom score, keyring, personality.
func setupProcess(conn syncConn, cfg *initConfig, p *specs.Process) error {
	if p.Terminal {
		if err := setupConsole(conn); err != nil {
			return err
		}
	}
	for _, rl := range p.Rlimits {
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Prlimit(0, rlimitNames[rl.Type], &lim, nil); err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("setrlimit %s (soft %d, hard %d): %w: raising a hard limit needs CAP_SYS_RESOURCE, which this host's bounding set may lack", rl.Type, rl.Soft, rl.Hard, err)
			}
			return fmt.Errorf("setrlimit %s: %w", rl.Type, err)
		}
	}
	if p.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return fmt.Errorf("oom_score_adj: %w", err)
		}
	}
	if !cfg.Exec && !cfg.NoNewKeyring {
		// A fresh session keyring, so the container cannot reach the
		// host's keys; ENOSYS/EPERM when keyrings are unavailable is fine.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	if per := cfg.Spec.Personality; per != nil && !cfg.Exec {
		dom := 0x0000
		if per.Domain == specs.PerLinux32 {
			dom = 0x0008
		}
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(dom), 0, 0); e != 0 {
			return fmt.Errorf("personality: %w", e)
		}
	}
	return nil
}

// lookPath resolves args[0] inside the container (after pivot_root, or in
// the container's mount namespace for exec), so a missing executable fails
// at create as runc and crun do.
func lookPath(p *specs.Process) (string, error) {
	name := p.Args[0]
	if strings.Contains(name, "/") {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.Cwd, path)
		}
		if err := unix.Access(path, unix.X_OK); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range p.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, name)
		var st unix.Stat_t
		if unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Access(path, unix.X_OK) == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

// finalize drops to the process's credentials and execs it. The order is
// the one runc settled on:
//   - the LSM exec label and no_new_privs;
//   - seccomp before dropping capabilities when no_new_privs is off
//     (loading a filter then needs CAP_SYS_ADMIN);
//   - user and groups, keeping capabilities across setuid;
//   - the five capability sets;
//   - cwd, checked to be inside the container;
//   - close every fd the container must not see;
//   - seccomp as close to execve as possible when no_new_privs is on.
func finalize(cfg *initConfig, p *specs.Process, argv0 string, filter *seccomp.Program) error {
	s := cfg.Spec
	// The runtime's own timer slack, not one a thread of its made this
	// process with (see internal/slack); before seccomp can forbid prctl.
	if err := slack.Restore(cfg.TimerSlack); err != nil {
		return fmt.Errorf("timer slack: %w", err)
	}
	if p.SelinuxLabel != "" {
		if selinux.GetEnabled() {
			if err := selinux.SetExecLabel(p.SelinuxLabel); err != nil {
				return fmt.Errorf("apply SELinux label %q: %w", p.SelinuxLabel, err)
			}
		} else {
			warnf("SELinux is not enabled on this host; ignoring selinuxLabel %q", p.SelinuxLabel)
		}
	}
	if p.ApparmorProfile != "" && apparmorEnabled() {
		return fmt.Errorf("AppArmor profile %q requested, but brig-runtime does not apply AppArmor profiles", p.ApparmorProfile)
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	if err := landlockFromAnnotations(s.Annotations); err != nil {
		return err
	}
	// The bounding set is dropped while still root: PR_CAPBSET_DROP needs
	// CAP_SETPCAP in the effective set, which setuid to a non-zero uid
	// clears, and the capability package then skips the drop silently
	// (podman `run --user 1000` / `exec -u 1000` kept the host's bounding
	// set). runc's finalizeNamespace does the same: ApplyBoundingSet,
	// SetKeepCaps, setupUser, ApplyCaps.
	if err := dropBounding(p.Capabilities); err != nil {
		return err
	}
	if err := setUser(p); err != nil {
		return err
	}
	if err := applyCaps(p.Capabilities); err != nil {
		return err
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("chdir to cwd %q: %w", p.Cwd, err)
	}
	// CVE-2024-21626: a cwd reached through a leaked fd (/proc/self/fd/N)
	// lies outside the container's root; the kernel then reports the
	// working directory as unreachable.
	wd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("cwd %q is outside the container's root filesystem", p.Cwd)
	}
	// Every fd above the preserved ones is closed at execve (CVE-2024-21626).
	if err := unix.CloseRange(uint(3+cfg.PreserveFds), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	if filter != nil && p.NoNewPrivileges {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	trace.Mark("init: credentials dropped, exec")
	env := p.Env
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+homeFor(p.User.UID))
	}
	err = unix.Exec(argv0, p.Args, env)
	return fmt.Errorf("exec %s: %w", argv0, err)
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, k+"=") {
			return true
		}
	}
	return false
}

// homeFor reads the user's home from the container's /etc/passwd.
func homeFor(uid uint32) string {
	data, err := os.ReadFile("/etc/passwd")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) >= 6 && f[2] == strconv.Itoa(int(uid)) {
				return f[5]
			}
		}
	}
	return "/"
}

func apparmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
}

func warnf(format string, a ...any) {
	// The parent forwards stderr lines starting with this prefix to the
	// runtime log; for a detached process they are lost, which is fine.
	// Not os.Stderr: its write to a closed pipe would kill the init
	// (os.epipecheck), and as a pid namespace's init it cannot even die of
	// the SIGPIPE it raises, so it would exit with status 2 instead.
	fmt.Fprintf(rawio.FD(2), "brig-runtime: warning: "+format+"\n", a...)
}

// setUser switches to the process's uid, gid and groups while keeping the
// permitted capabilities, so applyCaps can set the exact sets afterwards.
func setUser(p *specs.Process) error {
	u := p.User
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return err
	}
	// Raw syscalls change only this thread, the one that execs; Go's
	// syscall.Setuid and friends stop every thread of the process to
	// change them all, which costs more than the rest of this function.
	groups := make([]uint32, 0, len(u.AdditionalGids))
	groups = append(groups, u.AdditionalGids...)
	var gp unsafe.Pointer
	if len(groups) > 0 {
		gp = unsafe.Pointer(&groups[0])
	}
	// setgroups is refused in a user namespace whose setgroups file says
	// "deny"; an empty list then is not worth failing for.
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(gp), 0); e != 0 && !(len(groups) == 0 && e == unix.EPERM) {
		return fmt.Errorf("setgroups %v: %w", groups, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setuid %d: %w", u.UID, e)
	}
	return unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
}

func capList(names []string) []capability.Cap {
	out := make([]capability.Cap, 0, len(names))
	last, _ := capability.LastCap()
	for _, n := range names {
		c, err := caps.Parse(n)
		if err != nil || capability.Cap(c) > last {
			// Validated earlier; a capability this kernel does not know
			// cannot be granted, as runc warns and skips.
			continue
		}
		out = append(out, capability.Cap(c))
	}
	return out
}

// dropBounding limits the bounding set to what the spec lists.
func dropBounding(c *specs.LinuxCapabilities) error {
	if c == nil {
		c = &specs.LinuxCapabilities{}
	}
	pc, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	pc.Clear(capability.BOUNDS)
	pc.Set(capability.BOUNDING, capList(c.Bounding)...)
	if err := pc.Apply(capability.BOUNDS); err != nil {
		return fmt.Errorf("drop bounding set: %w", err)
	}
	return nil
}

// ambientAllowed keeps the ambient capabilities the kernel can raise: those
// also permitted and inheritable. runc warns about the rest and goes on
// (its own `runc spec` asks for ambient caps it does not make inheritable).
func ambientAllowed(c *specs.LinuxCapabilities) []string {
	in := func(list []string, n string) bool {
		for _, x := range list {
			if caps.Normalize(x) == caps.Normalize(n) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, a := range c.Ambient {
		if in(c.Inheritable, a) && in(c.Permitted, a) {
			out = append(out, a)
		} else {
			warnf("ambient capability %s is not in the inheritable and permitted sets; ignored", a)
		}
	}
	return out
}

// applyCaps sets all five sets exactly. A nil section means no
// capabilities at all. The inheritable set is only what the spec lists
// (CVE-2022-29162, CVE-2022-24769).
func applyCaps(c *specs.LinuxCapabilities) error {
	if c == nil {
		c = &specs.LinuxCapabilities{}
	}
	pc, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	pc.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	pc.Set(capability.BOUNDING, capList(c.Bounding)...)
	pc.Set(capability.PERMITTED, capList(c.Permitted)...)
	pc.Set(capability.EFFECTIVE, capList(c.Effective)...)
	pc.Set(capability.INHERITABLE, capList(c.Inheritable)...)
	pc.Set(capability.AMBIENT, capList(ambientAllowed(c))...)
	if err := pc.Apply(capability.CAPS | capability.BOUNDS | capability.AMBS); err != nil {
		return fmt.Errorf("apply capabilities: %w", err)
	}
	return nil
}

// runHooks runs OCI hooks in order with the state on stdin; a failing
// hook fails the operation.
func runHooks(stage string, hooks []specs.Hook, st specs.State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if err := runHook(h, data); err != nil {
			return fmt.Errorf("%s hook %s: %w", stage, h.Path, err)
		}
	}
	return nil
}

func runHook(h specs.Hook, state []byte) error {
	cmd := exec.Command(h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = strings.NewReader(string(state))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if h.Timeout != nil && *h.Timeout > 0 {
		select {
		case err := <-done:
			return hookErr(err, out.String())
		case <-timeAfter(*h.Timeout):
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("timed out after %ds", *h.Timeout)
		}
	}
	return hookErr(<-done, out.String())
}

func hookErr(err error, out string) error {
	if err == nil {
		return nil
	}
	if out = strings.TrimSpace(out); out != "" {
		return fmt.Errorf("%w: %s", err, out)
	}
	return err
}

// setupConsole creates the container's pty from its own devpts, sends the
// master to the parent (which hands it to the engine's console socket) and
// makes the slave the process's controlling terminal and stdio.
func setupConsole(conn syncConn) error {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("ptsname: %w", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open pty slave: %w", err)
	}
	if err := conn.send(syncMsg{Type: msgConsole}, int(master.Fd())); err != nil {
		slave.Close()
		return err
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(int(slave.Fd()), i, 0); err != nil {
			slave.Close()
			return err
		}
	}
	slave.Close()
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	return nil
}

func selinuxEnabled() bool { return selinux.GetEnabled() }

// checkLabels asks the kernel whether the process and mount labels are
// valid contexts of the loaded policy.
func checkLabels(proc, mount string) error {
	// Without labels nothing later asks either (each use checks its label
	// first), so the probe, which reads /proc/filesystems or mountinfo, is
	// skipped.
	if proc == "" && mount == "" || !selinuxEnabled() {
		return nil
	}
	if proc != "" {
		if err := selinux.SecurityCheckContext(proc); err != nil {
			return fmt.Errorf("selinuxLabel %q is not a valid context in the loaded policy: %w", proc, err)
		}
	}
	if mount != "" {
		if err := selinux.SecurityCheckContext(mount); err != nil {
			return fmt.Errorf("mountLabel %q is not a valid context in the loaded policy: %w", mount, err)
		}
	}
	return nil
}
