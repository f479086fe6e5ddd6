package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/monitor"
	"github.com/brigrt/brig/internal/runtime"
	"github.com/brigrt/brig/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Logs prints a json-file log; with follow it keeps reading while running
// reports the container alive, then drains what is left.
func Logs(path string, stdout, stderr io.Writer, timestamps, follow bool, running func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // created but never started: no output yet
		}
		return err
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var pending []byte
	for {
		line, err := rd.ReadBytes('\n')
		pending = append(pending, line...)
		if err == io.EOF {
			if !follow {
				return nil
			}
			if !running() {
				// One more pass for lines written just before the exit.
				rest, _ := io.ReadAll(rd)
				pending = append(pending, rest...)
				for _, l := range strings.SplitAfter(string(pending), "\n") {
					printLog([]byte(l), stdout, stderr, timestamps)
				}
				return nil
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		printLog(pending, stdout, stderr, timestamps)
		pending = nil
	}
}

func printLog(line []byte, stdout, stderr io.Writer, timestamps bool) {
	if len(strings.TrimSpace(string(line))) == 0 {
		return
	}
	var l struct{ Log, Stream, Time string }
	if json.Unmarshal(line, &l) != nil {
		return // a torn last line of a crashed monitor
	}
	w := stdout
	if l.Stream == "stderr" {
		w = stderr
	}
	if timestamps {
		fmt.Fprint(w, l.Time+" ")
	}
	fmt.Fprint(w, l.Log)
}

// ExecOptions are `brig exec`'s flags.
type ExecOptions struct {
	Args        []string
	Interactive bool
	TTY         bool
	Detach      bool
	User        string
	Workdir     string
	Env         []string
	Privileged  bool
}

// Exec runs a process in a running container and returns its exit code.
func (e *Engine) Exec(r *container.Record, o ExecOptions) (int, error) {
	status, _ := e.Status(r)
	if status != runtime.Running {
		return -1, fmt.Errorf("container %s is %s, not running", r.Name, status)
	}
	p, err := e.Runtime.BaseProcess(r.ID)
	if err != nil {
		return -1, err
	}
	p.Args = o.Args
	p.Terminal = o.TTY
	p.Env = append(p.Env, o.Env...)
	if o.Workdir != "" {
		p.Cwd = o.Workdir
	}
	if o.User != "" {
		u, g, _ := strings.Cut(o.User, ":")
		uid, err := strconv.ParseUint(u, 10, 32)
		if err != nil {
			return -1, fmt.Errorf("--user %q: use a numeric uid[:gid]", o.User)
		}
		p.User = specs.User{UID: uint32(uid), GID: uint32(uid)}
		if g != "" {
			gid, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return -1, fmt.Errorf("--user %q: use a numeric uid[:gid]", o.User)
			}
			p.User.GID = uint32(gid)
		}
		if uid != 0 && p.Capabilities != nil {
			// Like docker: a non-root exec keeps only the bounding set.
			p.Capabilities.Effective, p.Capabilities.Permitted = nil, nil
		}
	}
	if o.Privileged && p.Capabilities != nil {
		p.Capabilities.Effective = p.Capabilities.Bounding
		p.Capabilities.Permitted = p.Capabilities.Bounding
	}
	opts := runtime.ExecOpts{Process: p, Detach: o.Detach}
	if !o.Interactive && !o.TTY {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			return -1, err
		}
		defer devnull.Close()
		opts.Stdin = devnull
	}
	if o.TTY {
		path, recv, closeFn, err := monitor.Console()
		if err != nil {
			return -1, err
		}
		defer closeFn()
		opts.ConsoleSocket = path
		type res struct {
			code int
			err  error
		}
		done := make(chan res, 1)
		go func() { c, err := e.Runtime.Exec(r.ID, opts); done <- res{c, err} }()
		pty, err := recv()
		if err != nil {
			x := <-done
			if x.err != nil {
				return -1, x.err
			}
			return -1, err
		}
		defer pty.Close()
		if _, terr := unix.IoctlGetTermios(int(os.Stdin.Fd()), tcgets); terr == nil {
			restore := monitor.Terminal(os.Stdin, pty)
			x := <-done
			restore()
			return x.code, x.err
		}
		go func() { _, _ = io.Copy(os.Stdout, pty) }()
		go func() { _, _ = io.Copy(pty, os.Stdin) }()
		x := <-done
		return x.code, x.err
	}
	return e.Runtime.Exec(r.ID, opts)
}

// Inspection is `brig inspect`'s document.
type Inspection struct {
	ID       string          `json:"Id"`
	Name     string          `json:"Name"`
	Image    string          `json:"Image"`
	ImageID  string          `json:"ImageId"`
	Created  time.Time       `json:"Created"`
	Path     string          `json:"Path"`
	Args     []string        `json:"Args"`
	State    State           `json:"State"`
	Bundle   string          `json:"Bundle"`
	Rootfs   string          `json:"Rootfs"`
	LogPath  string          `json:"LogPath"`
	Options  json.RawMessage `json:"Options,omitempty"`
	Security Security        `json:"Security"`
	Warnings []string        `json:"Warnings,omitempty"`
}

// State is the container's run state.
type State struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	Paused     bool      `json:"Paused"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	OOMKilled  bool      `json:"OOMKilled"`
	FinishedAt time.Time `json:"FinishedAt,omitzero"`
	Error      string    `json:"Error,omitempty"`
}

// Security is the effective confinement, decoded from the spec brig handed
// the runtime.
type Security struct {
	Privileged      bool              `json:"Privileged"`
	Capabilities    CapSets           `json:"Capabilities"`
	CapabilityDiff  string            `json:"CapabilityDiff"` // against Docker's default 14
	Seccomp         SeccompInfo       `json:"Seccomp"`
	NoNewPrivileges bool              `json:"NoNewPrivileges"`
	SELinux         LabelInfo         `json:"SELinux"`
	Landlock        string            `json:"Landlock,omitempty"`
	Namespaces      map[string]string `json:"Namespaces"`
	MaskedPaths     []string          `json:"MaskedPaths"`
	ReadonlyPaths   []string          `json:"ReadonlyPaths"`
	ReadOnlyRootfs  bool              `json:"ReadOnlyRootfs"`
	User            string            `json:"User"`
}

// CapSets are the five capability sets by name.
type CapSets struct {
	Bounding    []string `json:"Bounding"`
	Effective   []string `json:"Effective"`
	Permitted   []string `json:"Permitted"`
	Inheritable []string `json:"Inheritable"`
	Ambient     []string `json:"Ambient"`
}

// SeccompInfo summarises the filter.
type SeccompInfo struct {
	Mode          string `json:"Mode"` // filter | disabled
	Profile       string `json:"Profile,omitempty"`
	DefaultAction string `json:"DefaultAction,omitempty"`
	Rules         int    `json:"Rules,omitempty"`
}

// LabelInfo is the SELinux label and whether it is applied.
type LabelInfo struct {
	ProcessLabel string `json:"ProcessLabel,omitempty"`
	MountLabel   string `json:"MountLabel,omitempty"`
	State        string `json:"State,omitempty"`
	Options      string `json:"Options,omitempty"`
}

// Inspect gathers everything known about a container.
func (e *Engine) Inspect(r *container.Record) (*Inspection, error) {
	in := &Inspection{ID: r.ID, Name: r.Name, Image: r.Image, ImageID: r.ImageID, Created: r.Created,
		Bundle: r.Bundle, Rootfs: r.Rootfs, LogPath: r.LogPath, Options: r.Options, Warnings: r.Warnings}
	if len(r.Command) > 0 {
		in.Path, in.Args = r.Command[0], r.Command[1:]
	}
	status, pid := e.Status(r)
	in.State = State{Status: status, Running: status == runtime.Running, Paused: status == runtime.Paused, Pid: pid}
	if x := e.Containers.LoadExit(r.ID); x != nil {
		in.State.ExitCode, in.State.OOMKilled, in.State.FinishedAt, in.State.Error = x.Code, x.OOMKilled, x.FinishedAt, x.Error
	}
	b, err := os.ReadFile(e.Containers.Path(r.ID, "config.json"))
	if err != nil {
		return in, nil // created by an interrupted brig: nothing more to show
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("container %s: bad config.json: %w", r.Name, err)
	}
	in.Security = securityOf(&s)
	return in, nil
}

func securityOf(s *specs.Spec) Security {
	a := s.Annotations
	sec := Security{
		Privileged: a[spec.AnnPrivileged] == "true",
		Namespaces: map[string]string{},
		SELinux: LabelInfo{ProcessLabel: a[spec.AnnLabel], MountLabel: a[spec.AnnMountLabel],
			State: a[spec.AnnLabelState], Options: a[spec.AnnLabelOpts]},
		Landlock: a[spec.AnnLandlock],
		User:     a[spec.AnnUser],
	}
	if p := s.Process; p != nil {
		sec.NoNewPrivileges = p.NoNewPrivileges
		if c := p.Capabilities; c != nil {
			norm := func(l []string) []string {
				if l == nil {
					return []string{}
				}
				return caps.Sorted(l)
			}
			sec.Capabilities = CapSets{norm(c.Bounding), norm(c.Effective), norm(c.Permitted), norm(c.Inheritable), norm(c.Ambient)}
			base, _ := caps.FromNames(caps.DockerDefault)
			have, _ := caps.FromNames(c.Bounding)
			sec.CapabilityDiff = caps.Diff(base, have)
		}
		if sec.User == "" {
			sec.User = fmt.Sprintf("%d:%d", p.User.UID, p.User.GID)
		}
	}
	if s.Root != nil {
		sec.ReadOnlyRootfs = s.Root.Readonly
	}
	if l := s.Linux; l != nil {
		sec.MaskedPaths = nonNil(l.MaskedPaths)
		sec.ReadonlyPaths = nonNil(l.ReadonlyPaths)
		if l.Seccomp != nil {
			sec.Seccomp = SeccompInfo{Mode: "filter", Profile: a[spec.AnnSeccomp], DefaultAction: string(l.Seccomp.DefaultAction), Rules: len(l.Seccomp.Syscalls)}
		} else {
			sec.Seccomp = SeccompInfo{Mode: "disabled", Profile: a[spec.AnnSeccomp]}
		}
	}
	for k, v := range a {
		if n, ok := strings.CutPrefix(k, spec.AnnNSPrefix); ok {
			sec.Namespaces[n] = v
		}
	}
	return sec
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
