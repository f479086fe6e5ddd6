// main sets GOMAXPROCS itself: the runtime's cgroup-aware GOMAXPROCS is of
// no use, and its background re-reading of the cgroup's CPU limits would
// only add wake-ups to a long `run` or `exec`.

//go:debug updatemaxprocs=0

// Command brig-runtime is brig's OCI runtime for engines (podman, containerd,
// CRI-O, Kubernetes): it follows runc's command-line contract.
//
// It is started for every container operation, so it stays small: no CLI
// framework, and the container init is this same binary re-executed.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/runtime"
	// Stretches sysmon's timer slack before most package inits run.
	_ "github.com/brigrt/brig/internal/slack/early"
	"github.com/brigrt/brig/internal/tinyinit"
	"github.com/brigrt/brig/internal/units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// version is set at build time.
var version = "dev"

func main() {
	// One binary, several roles: the container init and --init's pid 1
	// are this program too.
	switch {
	case runtime.IsInit():
		runtime.Init() // never returns
	case tinyinit.Is():
		tinyinit.Main()
	}
	// A runtime command lives for milliseconds and allocates little:
	// collecting garbage would only cost CPU. (The init is a separate
	// process and a long `run` or `exec` waits with nothing allocated.)
	debug.SetGCPercent(-1)
	// One P: the work is sequential, and idle Ps only spin, wake threads
	// and hand each other the P around every blocking syscall. (Two were
	// tried: measured to process exit, side by side, they cost 0.7 to
	// 1.4 ms more CPU per run and no less wall.)
	goruntime.GOMAXPROCS(1)
	// Nothing here uses os/signal: a foreground run or exec relays its
	// signals with a handler of its own, at a fraction of the cost.
	runtime.OwnSignals()
	os.Exit(run(os.Args[1:]))
}

// stderr is fd 2 without os.File: with the relay's signal handler (see
// runtime.OwnSignals) a closed stderr is then a write error, not the
// death by SIGPIPE of a runtime that has a container to delete.
var stderr = rawio.FD(2)

// globals are the flags before the command.
type globals struct {
	root, log, logFormat string
	debug, systemdCgroup bool
	logOut               io.Writer
}

func run(args []string) int {
	g := &globals{root: runtime.DefaultRoot}
	fs := newFlags("brig-runtime")
	fs.String(&g.root, "root", "", "directory for container state")
	fs.String(&g.log, "log", "", "write errors and warnings to this file")
	fs.String(&g.logFormat, "log-format", "", "text or json")
	fs.Bool(&g.debug, "debug", "", "log debug output")
	fs.Bool(&g.systemdCgroup, "systemd-cgroup", "", "not supported: brig-runtime manages cgroupfs directly")
	var showVersion bool
	fs.Bool(&showVersion, "version", "v", "print the version")
	rest, err := fs.parseUntilCommand(args)
	if err != nil {
		return g.fail(err)
	}
	if showVersion {
		fmt.Printf("brig-runtime version %s\nspec: %s\n", version, specs.Version)
		return 0
	}
	if g.log != "" {
		f, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return g.fail(err)
		}
		defer f.Close()
		g.logOut = f
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, usage)
		return 1
	}
	if g.systemdCgroup {
		g.warn("--systemd-cgroup is not supported: brig-runtime manages cgroupfs directly; systemd-style cgroupsPath values are refused")
	}
	rt := &runtime.Runtime{Store: runtime.Store{Root: g.root}, Warn: g.warn}
	cmd, cargs := rest[0], rest[1:]
	var code int
	switch cmd {
	case "create":
		code, err = cmdCreate(rt, cargs)
	case "start":
		code, err = withID(cargs, "start", rt.Start)
	case "run":
		code, err = cmdRun(rt, cargs)
	case "state":
		code, err = cmdState(rt, cargs)
	case "kill":
		code, err = cmdKill(rt, cargs)
	case "delete":
		code, err = cmdDelete(rt, cargs)
	case "exec":
		code, err = cmdExec(rt, cargs)
	case "ps":
		code, err = cmdPs(rt, cargs)
	case "list":
		code, err = cmdList(rt, cargs)
	case "pause":
		code, err = withID(cargs, "pause", rt.Pause)
	case "resume":
		code, err = withID(cargs, "resume", rt.Resume)
	case "features":
		code, err = cmdFeatures(cargs)
	case "spec":
		code, err = cmdSpec(cargs)
	case "update":
		code, err = cmdUpdate(rt, cargs)
	case "help", "--help", "-h":
		fmt.Println(usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err != nil {
		return g.fail(err)
	}
	return code
}

const usage = `usage: brig-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [ARGS]

commands: create start run state kill delete exec ps list pause resume update features spec`

// fail reports err the way engines read it: one JSON object per line in
// the log file with --log-format json (podman json.Unmarshals the whole
// file), plain text on stderr always.
func (g *globals) fail(err error) int {
	g.logLine("error", err.Error())
	fmt.Fprintln(stderr, "brig-runtime:", err)
	return 1
}

func (g *globals) warn(msg string) {
	if g.logOut == nil {
		fmt.Fprintln(stderr, "brig-runtime: warning:", msg)
		return
	}
	// Podman parses the whole log as one JSON object, so only errors go
	// there in JSON mode unless debugging.
	if g.logFormat != "json" || g.debug {
		g.logLine("warning", msg)
	}
}

func (g *globals) logLine(level, msg string) {
	if g.logOut == nil {
		return
	}
	if g.logFormat == "json" {
		b, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		fmt.Fprintf(g.logOut, "%s\n", b)
		return
	}
	fmt.Fprintf(g.logOut, "time=%q level=%s msg=%q\n", time.Now().UTC().Format(time.RFC3339Nano), level, msg)
}

func withID(args []string, name string, fn func(string) error) (int, error) {
	fs := newFlags(name)
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, fmt.Errorf("%s needs exactly one container id", name)
	}
	return 0, fn(pos[0])
}

func createFlags(name string, o *runtime.CreateOpts) *flags {
	fs := newFlags(name)
	o.Bundle = "."
	fs.String(&o.Bundle, "bundle", "b", "path to the bundle")
	fs.String(&o.PidFile, "pid-file", "", "write the init's pid here")
	fs.String(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	fs.Int(&o.PreserveFds, "preserve-fds", "", "pass fds 3..3+N-1 to the container")
	fs.Bool(&o.NoPivot, "no-pivot", "", "use MS_MOVE and chroot instead of pivot_root")
	fs.Bool(&o.NoNewKeyring, "no-new-keyring", "", "keep the caller's session keyring")
	return fs
}

func cmdCreate(rt *runtime.Runtime, args []string) (int, error) {
	var o runtime.CreateOpts
	pos, err := createFlags("create", &o).parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, errors.New("create needs exactly one container id")
	}
	_, err = rt.Create(pos[0], o)
	return 0, err
}

func cmdRun(rt *runtime.Runtime, args []string) (int, error) {
	var o runtime.CreateOpts
	var detach bool
	fs := createFlags("run", &o)
	fs.Bool(&detach, "detach", "d", "do not wait for the container")
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, errors.New("run needs exactly one container id")
	}
	return rt.Run(pos[0], o, detach)
}

func cmdState(rt *runtime.Runtime, args []string) (int, error) {
	pos, err := newFlags("state").parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, errors.New("state needs exactly one container id")
	}
	b, err := rt.StateJSON(pos[0])
	if err != nil {
		return 1, err
	}
	fmt.Println(string(b))
	return 0, nil
}

func cmdKill(rt *runtime.Runtime, args []string) (int, error) {
	var all bool
	fs := newFlags("kill")
	fs.Bool(&all, "all", "a", "signal every process in the container")
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return 1, errors.New("usage: kill [--all] ID [SIGNAL]")
	}
	sigName := "SIGTERM"
	if len(pos) == 2 {
		sigName = pos[1]
	}
	sig, err := runtime.ParseSignal(sigName)
	if err != nil {
		return 1, err
	}
	return 0, rt.Kill(pos[0], sig, all)
}

func cmdDelete(rt *runtime.Runtime, args []string) (int, error) {
	var force bool
	fs := newFlags("delete")
	fs.Bool(&force, "force", "f", "kill the container first if it runs")
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, errors.New("delete needs exactly one container id")
	}
	return 0, rt.Delete(pos[0], force)
}

func cmdExec(rt *runtime.Runtime, args []string) (int, error) {
	var o runtime.ExecOpts
	var procFile, cwd, user, label string
	var tty bool
	var env, capsAdd, addGids []string
	fs := newFlags("exec")
	fs.String(&procFile, "process", "p", "process.json to run")
	fs.Bool(&o.Detach, "detach", "d", "do not wait for the process")
	fs.Bool(&tty, "tty", "t", "allocate a pseudo-TTY")
	fs.String(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	fs.String(&o.PidFile, "pid-file", "", "write the process's pid here")
	fs.Int(&o.PreserveFds, "preserve-fds", "", "pass fds 3..3+N-1 to the process")
	fs.Strings(&capsAdd, "cap", "c", "add a capability")
	fs.Strings(&env, "env", "e", "set an environment variable")
	fs.String(&cwd, "cwd", "", "working directory")
	fs.String(&user, "user", "u", "UID[:GID]")
	fs.Strings(&addGids, "additional-gids", "g", "additional gid")
	fs.String(&label, "process-label", "", "SELinux label for the process")
	var noNewPrivs bool
	fs.Bool(&noNewPrivs, "no-new-privs", "", "set no_new_privs")
	fs.stopAtFirstArg = true
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) < 1 {
		return 1, errors.New("usage: exec [flags] ID [COMMAND [ARGS...]]")
	}
	id := pos[0]
	if procFile != "" {
		data, err := os.ReadFile(procFile)
		if err != nil {
			return 1, err
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return 1, fmt.Errorf("process file %s: %w", procFile, err)
		}
		o.Process = &p
	} else {
		if len(pos) < 2 {
			return 1, errors.New("exec needs a command or --process")
		}
		p, err := rt.BaseProcess(id)
		if err != nil {
			return 1, err
		}
		p.Args = pos[1:]
		p.Terminal = tty
		p.Env = append(p.Env, env...)
		if cwd != "" {
			p.Cwd = cwd
		}
		if label != "" {
			p.SelinuxLabel = label
		}
		if noNewPrivs {
			p.NoNewPrivileges = true
		}
		if user != "" {
			uid, gid, err := parseUser(user)
			if err != nil {
				return 1, err
			}
			p.User = specs.User{UID: uid, GID: gid}
		}
		for _, g := range addGids {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return 1, fmt.Errorf("--additional-gids %q: not a number", g)
			}
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
		}
		if len(capsAdd) > 0 {
			if p.Capabilities == nil {
				p.Capabilities = &specs.LinuxCapabilities{}
			}
			// Never the inheritable set (CVE-2022-29162).
			c := p.Capabilities
			c.Bounding = append(c.Bounding, capsAdd...)
			c.Effective = append(c.Effective, capsAdd...)
			c.Permitted = append(c.Permitted, capsAdd...)
		}
		o.Process = p
	}
	return rt.Exec(id, o)
}

func parseUser(s string) (uint32, uint32, error) {
	u, g, _ := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: uid must be a number", s)
	}
	gid := uint64(0)
	if g != "" {
		if gid, err = strconv.ParseUint(g, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user %q: gid must be a number", s)
		}
	}
	return uint32(uid), uint32(gid), nil
}

func cmdPs(rt *runtime.Runtime, args []string) (int, error) {
	format := "table"
	fs := newFlags("ps")
	fs.String(&format, "format", "f", "table or json")
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) < 1 {
		return 1, errors.New("ps needs a container id")
	}
	pids, err := rt.Pids(pos[0])
	if err != nil {
		return 1, err
	}
	if format == "json" {
		if pids == nil {
			pids = []int{}
		}
		b, _ := json.Marshal(pids)
		fmt.Println(string(b))
		return 0, nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "PID\tCMD")
	for _, p := range pids {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		fmt.Fprintf(w, "%d\t%s\n", p, strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return 0, w.Flush()
}

func cmdList(rt *runtime.Runtime, args []string) (int, error) {
	format := "table"
	var quiet bool
	fs := newFlags("list")
	fs.String(&format, "format", "f", "table or json")
	fs.Bool(&quiet, "quiet", "q", "print ids only")
	if _, err := fs.parse(args); err != nil {
		return 1, err
	}
	ids, err := rt.Store.List()
	if err != nil {
		return 1, err
	}
	type row struct {
		OCIVersion string    `json:"ociVersion"`
		ID         string    `json:"id"`
		Pid        int       `json:"pid"`
		Status     string    `json:"status"`
		Bundle     string    `json:"bundle"`
		Rootfs     string    `json:"rootfs"`
		Created    time.Time `json:"created"`
		Owner      string    `json:"owner"`
	}
	rows := []row{}
	for _, id := range ids {
		st, err := rt.Store.Load(id)
		if err != nil {
			continue // removed while listing
		}
		status := rt.Status(st)
		pid := st.Pid
		if status == runtime.Stopped {
			pid = 0
		}
		rows = append(rows, row{specs.Version, id, pid, status, st.Bundle, st.Rootfs, st.Created, "root"})
	}
	switch {
	case quiet:
		for _, r := range rows {
			fmt.Println(r.ID)
		}
	case format == "json":
		b, _ := json.Marshal(rows)
		fmt.Println(string(b))
	default:
		w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Pid, r.Status, r.Bundle, r.Created.Format(time.RFC3339Nano), r.Owner)
		}
		return 0, w.Flush()
	}
	return 0, nil
}

func cmdFeatures(args []string) (int, error) {
	if _, err := newFlags("features").parse(args); err != nil {
		return 1, err
	}
	b, _ := json.MarshalIndent(runtime.Features(), "", "    ")
	fmt.Println(string(b))
	return 0, nil
}

// cmdUpdate is runc's update: new limits from a LinuxResources JSON
// document (--resources FILE, or - for stdin, as containerd sends them) or
// from flags with runc's names.
func cmdUpdate(rt *runtime.Runtime, args []string) (int, error) {
	var resFile string
	vals := map[string]*string{}
	fs := newFlags("update")
	fs.String(&resFile, "resources", "r", "a LinuxResources JSON file, or - for stdin")
	for _, name := range []string{"memory", "memory-reservation", "memory-swap", "cpu-share", "cpu-shares",
		"cpu-period", "cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems",
		"pids-limit", "blkio-weight"} {
		v := new(string)
		vals[name] = v
		fs.String(v, name, "", "")
	}
	pos, err := fs.parse(args)
	if err != nil {
		return 1, err
	}
	if len(pos) != 1 {
		return 1, errors.New("usage: update [--resources FILE|-] [--memory N] [--cpu-quota N] [...] ID")
	}
	given := 0
	for _, v := range vals {
		if *v != "" {
			given++
		}
	}
	var r specs.LinuxResources
	switch {
	case resFile != "" && given > 0:
		return 1, errors.New("update: give either --resources or the limit flags, not both")
	case resFile != "":
		in := io.Reader(os.Stdin)
		if resFile != "-" {
			f, err := os.Open(resFile)
			if err != nil {
				return 1, err
			}
			defer f.Close()
			in = f
		}
		dec := json.NewDecoder(in)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return 1, fmt.Errorf("update: reading the resources: %w", err)
		}
	case given == 0:
		return 1, errors.New("update: nothing to change (give --resources or a limit flag)")
	default:
		if err := resourcesFromFlags(&r, vals); err != nil {
			return 1, err
		}
	}
	return 0, rt.Update(pos[0], &r)
}

func resourcesFromFlags(r *specs.LinuxResources, vals map[string]*string) error {
	bytes := func(name string) (*int64, error) {
		if *vals[name] == "" {
			return nil, nil
		}
		if *vals[name] == "-1" { // runc's "no limit"
			n := int64(-1)
			return &n, nil
		}
		n, err := units.ParseBytes(*vals[name])
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		return &n, nil
	}
	num := func(name string) (*int64, error) {
		if *vals[name] == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(*vals[name], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--%s needs a number, got %q", name, *vals[name])
		}
		return &n, nil
	}
	unsigned := func(name string) (*uint64, error) {
		n, err := num(name)
		if n == nil || err != nil {
			return nil, err
		}
		if *n < 0 {
			return nil, fmt.Errorf("--%s needs a number of at least 0, got %d", name, *n)
		}
		u := uint64(*n)
		return &u, nil
	}
	var mem specs.LinuxMemory
	var cpu specs.LinuxCPU
	var err error
	if mem.Limit, err = bytes("memory"); err != nil {
		return err
	}
	if mem.Reservation, err = bytes("memory-reservation"); err != nil {
		return err
	}
	if mem.Swap, err = bytes("memory-swap"); err != nil {
		return err
	}
	if mem != (specs.LinuxMemory{}) {
		r.Memory = &mem
	}
	if *vals["cpu-share"] == "" {
		*vals["cpu-share"] = *vals["cpu-shares"]
	}
	if cpu.Shares, err = unsigned("cpu-share"); err != nil {
		return err
	}
	if cpu.Period, err = unsigned("cpu-period"); err != nil {
		return err
	}
	if cpu.Quota, err = num("cpu-quota"); err != nil {
		return err
	}
	if cpu.RealtimePeriod, err = unsigned("cpu-rt-period"); err != nil {
		return err
	}
	if cpu.RealtimeRuntime, err = num("cpu-rt-runtime"); err != nil {
		return err
	}
	cpu.Cpus, cpu.Mems = *vals["cpuset-cpus"], *vals["cpuset-mems"]
	if cpu != (specs.LinuxCPU{}) {
		r.CPU = &cpu
	}
	pids, err := num("pids-limit")
	if err != nil {
		return err
	}
	if pids != nil {
		r.Pids = &specs.LinuxPids{Limit: pids}
	}
	w, err := unsigned("blkio-weight")
	if err != nil {
		return err
	}
	if w != nil {
		if *w < 10 || *w > 1000 {
			return fmt.Errorf("--blkio-weight %d: want 10 to 1000", *w)
		}
		weight := uint16(*w)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &weight}
	}
	return nil
}

func cmdSpec(args []string) (int, error) {
	bundle := "."
	fs := newFlags("spec")
	fs.String(&bundle, "bundle", "b", "write config.json here")
	if _, err := fs.parse(args); err != nil {
		return 1, err
	}
	path := bundle + "/config.json"
	if _, err := os.Stat(path); err == nil {
		return 1, fmt.Errorf("%s already exists; remove it first", path)
	}
	b, _ := json.MarshalIndent(runtime.ExampleSpec(), "", "\t")
	return 0, os.WriteFile(path, append(b, '\n'), 0o644)
}

// flags is a small parser for runc-style flags: --name value, --name=value,
// -n value, boolean --name, flags interspersed with arguments. The stdlib
// flag package stops at the first argument and has no short aliases.
type flags struct {
	name           string
	defs           map[string]*flagDef
	stopAtFirstArg bool
}

type flagDef struct {
	set    func(string) error
	isBool bool
}

func newFlags(name string) *flags { return &flags{name: name, defs: map[string]*flagDef{}} }

func (f *flags) add(long, short string, d *flagDef) {
	f.defs[long] = d
	if short != "" {
		f.defs[short] = d
	}
}

func (f *flags) String(p *string, long, short, _ string) {
	f.add(long, short, &flagDef{set: func(v string) error { *p = v; return nil }})
}

func (f *flags) Strings(p *[]string, long, short, _ string) {
	f.add(long, short, &flagDef{set: func(v string) error { *p = append(*p, v); return nil }})
}

func (f *flags) Int(p *int, long, short, _ string) {
	f.add(long, short, &flagDef{set: func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("--%s needs a non-negative number, got %q", long, v)
		}
		*p = n
		return nil
	}})
}

func (f *flags) Bool(p *bool, long, short, _ string) {
	f.add(long, short, &flagDef{isBool: true, set: func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--%s needs true or false, got %q", long, v)
		}
		*p = b
		return nil
	}})
}

// parseUntilCommand parses global flags and returns the command and its args.
func (f *flags) parseUntilCommand(args []string) ([]string, error) {
	f.stopAtFirstArg = true
	return f.parse(args)
}

func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if f.stopAtFirstArg {
				return append(pos, args[i:]...), nil
			}
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val, hasVal = k, v, true
		}
		d, ok := f.defs[name]
		if !ok {
			return nil, fmt.Errorf("%s: unknown flag %s", f.name, a)
		}
		if d.isBool {
			if !hasVal {
				val = "true"
			}
		} else if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s: flag %s needs a value", f.name, a)
			}
			i++
			val = args[i]
		}
		if err := d.set(val); err != nil {
			return nil, err
		}
	}
	return pos, nil
}
