// Package engine is brig's daemonless container engine: it turns `brig run`
// options and an image into a bundle, hands it to the runtime core through
// a monitor, and manages the container afterwards (stop, rm, inspect...).
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/conmon"
	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/image/store"
	"github.com/brigrt/brig/internal/label"
	"github.com/brigrt/brig/internal/monitor"
	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/runtime"
	"github.com/brigrt/brig/internal/seccomp/profile"
	"github.com/brigrt/brig/internal/selinux/mls"
	"github.com/brigrt/brig/internal/spec"
	"github.com/brigrt/brig/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// DefaultRoot and DefaultRunRoot are brig's state directories.
const (
	DefaultRoot    = "/var/lib/brig"
	DefaultRunRoot = "/run/brig"
)

// Config is brig's configuration file (ROOT/brig.json), all optional.
type Config struct {
	// DefaultCapabilities replaces Docker's 14.
	DefaultCapabilities []string `json:"default_capabilities,omitempty"`
	// Setrans is the setrans.conf used for named MLS levels; default: the
	// active policy's (from /etc/selinux/config).
	Setrans string `json:"setrans,omitempty"`
}

// Engine is one brig state root.
type Engine struct {
	Root, RunRoot string
	Config        Config
	Containers    *container.Store
	Runtime       *runtime.Runtime
	// RuntimeBin is the brig-runtime executable (container init and --init);
	// MonitorBin is brig-monitor, which watches detached containers.
	RuntimeBin, MonitorBin string
	images                 *store.Store
}

// Open opens (and creates) the state under root. An empty root means the
// defaults; a custom root keeps the runtime state under it too, so tests
// and parallel installations never meet.
func Open(root string) (*Engine, error) {
	e := &Engine{Root: root, RunRoot: DefaultRunRoot}
	if root == "" {
		e.Root = DefaultRoot
	} else {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		e.Root = abs
		e.RunRoot = filepath.Join(abs, "run")
	}
	if err := os.MkdirAll(e.Root, 0o711); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(e.Root, "brig.json")); err == nil {
		if err := json.Unmarshal(b, &e.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(e.Root, "brig.json"), err)
		}
	}
	if p := os.Getenv("BRIG_SETRANS"); p != "" {
		e.Config.Setrans = p
	}
	cs, err := container.Open(e.Root)
	if err != nil {
		return nil, err
	}
	e.Containers = cs
	e.Runtime = &runtime.Runtime{Store: runtime.Store{Root: filepath.Join(e.RunRoot, "runtime")}}
	e.RuntimeBin = findBin("brig-runtime", "BRIG_RUNTIME")
	e.MonitorBin = findBin("brig-monitor", "BRIG_MONITOR")
	e.Runtime.InitBinary = e.RuntimeBin
	return e, nil
}

// findBin locates a brig helper binary: $ENV, next to this binary, PATH.
func findBin(name, env string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// Images opens the image store on first use.
func (e *Engine) Images() (*store.Store, error) {
	if e.images == nil {
		s, err := store.Open(filepath.Join(e.Root, "images"))
		if err != nil {
			return nil, err
		}
		e.images = s
	}
	return e.images, nil
}

func (e *Engine) mcsDir() string { return filepath.Join(e.Root, "mcs") }

// Status values beyond the runtime's: a container whose main process
// ended (and whose runtime state is gone) has "exited".
const Exited = "exited"

// Status reports a container's status and init pid.
func (e *Engine) Status(r *container.Record) (string, int) {
	st, err := e.Runtime.Store.Load(r.ID)
	if err != nil {
		if e.Containers.LoadExit(r.ID) != nil {
			return Exited, 0
		}
		return runtime.Created, 0 // brig create'd, monitor not started yet
	}
	s := e.Runtime.Status(st)
	if s == runtime.Stopped {
		if e.Containers.LoadExit(r.ID) != nil {
			return Exited, 0
		}
		return runtime.Stopped, 0
	}
	return s, st.Pid
}

// Create builds the container from o without starting it. On error it
// leaves nothing behind. It returns the warnings to show the user.
func (e *Engine) Create(o *spec.Options) (rec *container.Record, warnings []string, err error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	if e.RuntimeBin == "" {
		return nil, nil, errors.New("brig-runtime not found: put it next to brig or on PATH, or set BRIG_RUNTIME")
	}
	imgs, err := e.Images()
	if err != nil {
		return nil, nil, err
	}
	trace.Mark("engine: options validated")
	img, err := imgs.Resolve(o.Image)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (see `brig images`; `brig pull`, `brig load` or `brig import` add images)", err)
	}
	name := o.Name
	if name == "" {
		name = container.RandomName()
	}
	rec = &container.Record{ID: container.NewID(), Name: name, Image: o.Image, ImageID: img.ID, Created: time.Now().UTC(), TTY: o.TTY, Rm: o.Rm, Privileged: o.Privileged}
	err = e.Containers.Create(rec)
	// A generated name may be taken already: draw another.
	for i := 0; err != nil && o.Name == "" && errors.Is(err, container.ErrNameInUse) && i < 20; i++ {
		rec.Name = container.RandomName()
		err = e.Containers.Create(rec)
	}
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			e.cleanup(rec)
			rec = nil
		}
	}()
	trace.Mark("engine: image resolved, record created")
	rootfs, err := imgs.Mount(img, rec.ID)
	if err != nil {
		return rec, nil, fmt.Errorf("mount image: %w", err)
	}
	rec.Rootfs = rootfs
	trace.Mark("engine: rootfs mounted")
	env, err := e.env(rec, rootfs)
	if err != nil {
		return rec, nil, err
	}
	cfg := img.Config()
	s, warnings, err := spec.Build(o, spec.ImageConfig{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}, env)
	if err != nil {
		return rec, nil, err
	}
	if err := e.applyLabels(rec, img, o, s); err != nil {
		return rec, nil, err
	}
	s.Root.Path = rec.Rootfs
	s.Linux.CgroupsPath = "/brig/" + rec.ID
	rec.Bundle = e.Containers.Path(rec.ID)
	rec.LogPath = e.Containers.Path(rec.ID, "ctr.log")
	rec.Command = s.Process.Args
	rec.Warnings = warnings
	if lv, err := label.List(e.mcsDir()); err == nil {
		rec.MCS = lv[rec.ID]
	}
	rec.Options, _ = json.Marshal(o)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return rec, nil, err
	}
	if err := rawio.WriteFileAtomic(filepath.Join(rec.Bundle, "config.json"), b, 0o600); err != nil {
		return rec, nil, err
	}
	if err := e.Containers.Save(rec); err != nil {
		return rec, nil, err
	}
	trace.Mark("engine: spec built, bundle written")
	return rec, warnings, nil
}

// applyLabels puts SELinux labels where the container needs them, on a
// host that enforces them: the rootfs is remounted with the container's
// mount label (the label is only known once the spec is built), and
// volumes asked for with :z or :Z are relabelled, shared (level s0) or
// private to this container.
func (e *Engine) applyLabels(rec *container.Record, img *store.Image, o *spec.Options, s *specs.Spec) error {
	if !selinux.GetEnabled() || s.Linux == nil || s.Linux.MountLabel == "" {
		return nil
	}
	imgs, err := e.Images()
	if err != nil {
		return err
	}
	if err := imgs.Unmount(rec.ID); err != nil {
		return err
	}
	rootfs, err := imgs.Mount(img, rec.ID, store.WithMountLabel(s.Linux.MountLabel))
	if err != nil {
		return fmt.Errorf("mount image with label: %w", err)
	}
	rec.Rootfs = rootfs
	for _, m := range o.Parsed.Mounts {
		if m.Relabel == "" {
			continue
		}
		l := s.Linux.MountLabel
		if m.Relabel == "z" {
			l = label.SharedLevel(l)
		}
		if err := selinux.Chcon(m.Source, l, true); err != nil {
			return fmt.Errorf("relabel volume %s (:%s): %w", m.Source, m.Relabel, err)
		}
	}
	return nil
}

// env gathers the host facts spec.Build needs for one container.
func (e *Engine) env(rec *container.Record, rootfs string) (spec.Env, error) {
	env, err := spec.HostEnv()
	if err != nil {
		return env, err
	}
	env.ID = rec.ID
	env.Rootfs = rootfs
	env.DefaultCaps = e.Config.DefaultCapabilities
	env.InitPath = e.RuntimeBin
	env.Resolve = e.resolveForNS
	env.Seccomp = loadSeccomp
	env.TranslateLevel = e.translateLevel
	env.MCS = func() (string, error) { return label.Reserve(e.mcsDir(), rec.ID) }
	env.MCSExact = func(level string) error { return label.ReserveExact(e.mcsDir(), rec.ID, level) }
	dir := e.Containers.Path(rec.ID)
	hostname := rec.ID[:12]
	env.EtcHostname = filepath.Join(dir, "hostname")
	env.EtcHosts = filepath.Join(dir, "hosts")
	env.ResolvConf = filepath.Join(dir, "resolv.conf")
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n"
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}
	for p, data := range map[string][]byte{env.EtcHostname: []byte(hostname + "\n"), env.EtcHosts: []byte(hosts), env.ResolvConf: resolv} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return env, err
		}
	}
	return env, nil
}

func (e *Engine) translateLevel(name string) (string, error) {
	path := e.Config.Setrans
	if path == "" {
		path = mls.DefaultPath()
	}
	if path == "" {
		return "", fmt.Errorf("level %q is a name, but no setrans.conf was found to translate it (set \"setrans\" in %s or BRIG_SETRANS)", name, filepath.Join(e.Root, "brig.json"))
	}
	t, err := mls.Load(path)
	if err != nil {
		return "", err
	}
	return t.ToRaw(name)
}

// loadSeccomp resolves Docker's default profile, or a profile file, for
// the container's capabilities (rules such as clock_settime follow them)
// on this host's architecture and kernel.
func loadSeccomp(path string, capList []string) (*specs.LinuxSeccomp, error) {
	o := profile.Options{Caps: capList}
	if path == "" {
		return profile.DefaultFor(o)
	}
	p, err := profile.Load(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	sc, err := profile.Resolve(p, o)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return sc, nil
}

// resolveForNS answers --X=container:NAME.
func (e *Engine) resolveForNS(name string) (spec.ContainerInfo, error) {
	r, err := e.Containers.Get(name)
	if err != nil {
		return spec.ContainerInfo{}, err
	}
	status, pid := e.Status(r)
	info := spec.ContainerInfo{ID: r.ID, Pid: pid, Running: status == runtime.Running || status == runtime.Paused, Privileged: r.Privileged}
	if !info.Running {
		return info, fmt.Errorf("container %s is %s; namespaces can only be shared with a running container", name, status)
	}
	if st, err := e.Runtime.Store.Load(r.ID); err == nil && st.Spec != nil && st.Spec.Process != nil {
		info.ProcessLabel = st.Spec.Process.SelinuxLabel
	}
	return info, nil
}

// cleanup removes everything a container owns; it tolerates every partial
// state, so it also repairs what an interrupted brig left.
func (e *Engine) cleanup(r *container.Record) {
	// A monitor still at work (its brig killed mid-run) would recreate
	// what is removed below.
	conmon.Fence(e.Containers.Path(r.ID))
	_ = e.Runtime.Delete(r.ID, true)
	if imgs, err := e.Images(); err == nil {
		_ = imgs.Remove(r.ID)
	}
	_ = label.Release(e.mcsDir(), r.ID)
	_ = e.Containers.Remove(r.ID)
}

func (e *Engine) monitorConfig(r *container.Record) monitor.Config {
	cfg := monitor.Config{
		ID: r.ID, RuntimeRoot: e.Runtime.Store.Root, Bundle: r.Bundle,
		LogPath: r.LogPath, ExitPath: e.Containers.Path(r.ID, "exit.json"), TTY: r.TTY,
		InitBinary: e.RuntimeBin,
		Label:      e.outputLabel(r),
	}
	if r.Rm {
		self, _ := os.Executable()
		cfg.OnExit = []string{self, "--root", e.Root, "rm", "-f", r.ID}
	}
	return cfg
}

// outputLabel is the label for the container's output FIFOs: its mount
// label when SELinux enforces one (see conmon.OutputPipe), else "".
func (e *Engine) outputLabel(r *container.Record) string {
	if !selinux.GetEnabled() {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(r.Bundle, "config.json"))
	if err != nil {
		return ""
	}
	var s specs.Spec
	if json.Unmarshal(b, &s) != nil || s.Linux == nil {
		return ""
	}
	return s.Linux.MountLabel
}

// StartDetached starts a created container under a background monitor.
func (e *Engine) StartDetached(r *container.Record) error {
	status, _ := e.Status(r)
	switch status {
	case runtime.Running, runtime.Paused:
		return nil // docker start on a running container is a no-op
	case runtime.Created:
		if _, err := e.Runtime.Store.Load(r.ID); err == nil {
			// Created by a monitor whose brig stopped before start.
			if err := e.Runtime.Start(r.ID); err != nil {
				return err
			}
			e.waitExec(r.ID)
			return nil
		}
	case Exited, runtime.Stopped:
		conmon.Kill(e.Containers.Path(r.ID))
		e.Containers.ClearExit(r.ID)
		_ = e.Runtime.Delete(r.ID, true)
	}
	if err := os.MkdirAll(e.Runtime.Store.Root, 0o700); err != nil {
		return err
	}
	if e.MonitorBin == "" {
		return errors.New("brig-monitor not found: put it next to brig or on PATH, or set BRIG_MONITOR")
	}
	m := e.monitorConfig(r)
	cfg := conmon.Config{ID: r.ID, RuntimeBin: e.RuntimeBin, RuntimeRoot: m.RuntimeRoot, Bundle: m.Bundle,
		LogPath: m.LogPath, ExitPath: m.ExitPath, TTY: m.TTY, OnExit: m.OnExit, Label: m.Label}
	if _, err := conmon.Spawn(e.MonitorBin, cfg, e.Containers.Path(r.ID, "monitor.json")); err != nil {
		return err
	}
	if err := e.Runtime.Start(r.ID); err != nil {
		_ = e.Runtime.Delete(r.ID, true)
		return err
	}
	e.waitExec(r.ID)
	return nil
}

// waitExec returns once the container's init has exec'd its process, so
// that what `run -d` reports is the container, not the runtime still
// dropping privileges.
func (e *Engine) waitExec(id string) {
	if st, err := e.Runtime.Store.Load(id); err == nil {
		runtime.WaitExec(st)
	}
}

// RunAttached runs a created container in this process, attached to the
// given stdio, and returns its exit.
func (e *Engine) RunAttached(r *container.Record, att monitor.Attach) (container.Exit, error) {
	cfg := e.monitorConfig(r)
	cfg.OnExit = nil // the caller removes it, after reporting the exit
	m, err := monitor.Create(cfg, att)
	if err != nil {
		return container.Exit{}, err
	}
	trace.Mark("engine: container created")
	if err := m.Start(); err != nil {
		_ = e.Runtime.Delete(r.ID, true)
		return container.Exit{}, err
	}
	trace.Mark("engine: container started")
	x := m.Wait()
	trace.Mark("engine: container exited and deleted")
	return x, nil
}

// Stop sends SIGTERM (or sig), waits up to timeout, then kills everything.
func (e *Engine) Stop(r *container.Record, timeout time.Duration, sig unix.Signal) error {
	status, _ := e.Status(r)
	if status != runtime.Running && status != runtime.Paused && status != runtime.Created {
		return nil
	}
	if status == runtime.Paused {
		_ = e.Runtime.Resume(r.ID)
	}
	if sig == 0 {
		sig = unix.SIGTERM
	}
	_ = e.Runtime.Kill(r.ID, sig, false)
	if e.waitExit(r, timeout) {
		return nil
	}
	if err := e.Runtime.Kill(r.ID, unix.SIGKILL, true); err != nil {
		if s, _ := e.Status(r); s == Exited || s == runtime.Stopped {
			return nil
		}
		return err
	}
	if !e.waitExit(r, 10*time.Second) {
		return fmt.Errorf("container %s did not stop", r.Name)
	}
	return nil
}

// waitExit polls until the container is no longer running.
func (e *Engine) waitExit(r *container.Record, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		s, _ := e.Status(r)
		if s == Exited || s == runtime.Stopped {
			// Give the monitor the moment it needs to record the exit.
			for i := 0; i < 200 && e.Containers.LoadExit(r.ID) == nil; i++ {
				if _, err := e.Runtime.Store.Load(r.ID); err != nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wait blocks until the container exits and returns its exit code.
func (e *Engine) Wait(r *container.Record) int {
	for {
		if x := e.Containers.LoadExit(r.ID); x != nil {
			return x.Code
		}
		if s, _ := e.Status(r); s == runtime.Stopped {
			return -1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Remove deletes a container; a running one only with force.
func (e *Engine) Remove(r *container.Record, force bool) error {
	status, _ := e.Status(r)
	if status == runtime.Running || status == runtime.Paused {
		if !force {
			return fmt.Errorf("container %s is %s: stop it first or use rm -f", r.Name, status)
		}
		_ = e.Runtime.Kill(r.ID, unix.SIGKILL, true)
	}
	e.cleanup(r)
	return nil
}

// Kill sends a signal to the container's main process.
func (e *Engine) Kill(r *container.Record, sig unix.Signal) error {
	status, _ := e.Status(r)
	if status != runtime.Running && status != runtime.Paused {
		return fmt.Errorf("container %s is not running", r.Name)
	}
	return e.Runtime.Kill(r.ID, sig, false)
}

// Top lists the container's processes: PID, USER, TIME, COMMAND.
func (e *Engine) Top(r *container.Record) ([][4]string, error) {
	pids, err := e.Runtime.Pids(r.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s is not running", r.Name)
	}
	var rows [][4]string
	for _, p := range pids {
		ps := strconv.Itoa(p)
		cmd, _ := os.ReadFile("/proc/" + ps + "/cmdline")
		status, _ := os.ReadFile("/proc/" + ps + "/status")
		uid := ""
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Uid:") {
				if f := strings.Fields(l); len(f) > 1 {
					uid = f[1]
				}
			}
		}
		stat, _ := os.ReadFile("/proc/" + ps + "/stat")
		cpu := ""
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			if f := strings.Fields(string(stat)[i+2:]); len(f) > 13 {
				ut, _ := strconv.Atoi(f[11])
				st, _ := strconv.Atoi(f[12])
				secs := (ut + st) / 100
				cpu = fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
			}
		}
		rows = append(rows, [4]string{ps, uid, cpu, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))})
	}
	return rows, nil
}
