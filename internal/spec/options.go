// Package spec turns the user's `brig run` intent into an OCI runtime spec.
//
// It is pure in the containerd pkg/oci style: Options is what the user asked
// for (docker's flags), Env carries every host fact the decision depends on
// (injected so tests need neither root nor a particular host), and Build
// composes small Opt builders into a *specs.Spec. Nothing here touches the
// system except reading files the user named (env files, profile paths,
// bind sources) to validate them before anything is created.
package spec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Options is the user's intent for `brig run` / `brig create`. The flag
// fields hold what was typed; Validate fills Parsed from them.
type Options struct {
	Image   string   // image reference (first positional argument)
	Command []string // arguments after the image

	Name        string
	Rm          bool
	Detach      bool
	Interactive bool
	TTY         bool
	Init        bool

	Privileged  bool
	CapAdd      []string
	CapDrop     []string
	SecurityOpt []string
	ReadOnly    bool

	PID      string // "", private, host, container:NAME
	Network  string // "", private, none, host, container:NAME (--net, --network)
	IPC      string // "", private, shareable, none, host, container:NAME
	UTS      string // "", private, host, container:NAME
	CgroupNS string // "", private, host, container:NAME

	User       string
	Workdir    string
	Hostname   string
	Entrypoint *string // nil when not given; "" resets the image's entrypoint
	Env        []string
	EnvFile    []string

	Volumes []string // -v SRC:DST[:OPTS]
	Mounts  []string // --mount type=bind|tmpfs,...
	Tmpfs   []string // --tmpfs DST[:OPTS]

	Memory    string // --memory, e.g. 512m
	PidsLimit int64
	CPUs      string // --cpus, e.g. 1.5
	Ulimits   []string
	Sysctls   []string
	Devices   []string

	// Parsed is filled by Validate.
	Parsed Parsed `json:"-"`
}

// entrypointValue lets --entrypoint distinguish "not given" from "".
type entrypointValue struct{ p **string }

func (v entrypointValue) Set(s string) error { *v.p = &s; return nil }
func (v entrypointValue) Type() string       { return "string" }
func (v entrypointValue) String() string {
	if *v.p == nil {
		return ""
	}
	return **v.p
}

// AddRunFlags registers docker's `run` flag names and shorthands on fs, bound
// to o, so `brig run`, `brig create` and `brig lint -- run ...` parse alike.
// A cobra command using it should call fs.SetInterspersed(false) (flags end
// at the image, as in docker), set FlagError as its flag error function for
// "did you mean" hints, and call o.Validate after filling Image and Command.
func AddRunFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVar(&o.Name, "name", "", "assign a name to the container")
	fs.BoolVar(&o.Rm, "rm", false, "remove the container when it exits")
	fs.BoolVarP(&o.Detach, "detach", "d", false, "run in the background and print the container id")
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open")
	fs.BoolVarP(&o.TTY, "tty", "t", false, "allocate a pseudo-terminal")
	fs.BoolVar(&o.Init, "init", false, "run an init inside the container that forwards signals and reaps processes")

	fs.BoolVar(&o.Privileged, "privileged", false, "give all capabilities and devices; no seccomp, masked paths or label")
	fs.StringSliceVar(&o.CapAdd, "cap-add", nil, "add Linux capabilities (NAME, CAP_NAME or ALL)")
	fs.StringSliceVar(&o.CapDrop, "cap-drop", nil, "drop Linux capabilities (NAME, CAP_NAME or ALL)")
	fs.StringArrayVar(&o.SecurityOpt, "security-opt", nil, "security options: label=..., no-new-privileges, seccomp=unconfined|PROFILE.json, landlock=...")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "mount the root filesystem read-only (tmpfs on /run, /tmp, /var/tmp)")

	fs.StringVar(&o.PID, "pid", "", "PID namespace: private, host or container:NAME")
	fs.StringVar(&o.Network, "network", "", "network namespace: private (loopback only), none, host or container:NAME")
	fs.StringVar(&o.Network, "net", "", "alias of --network")
	fs.StringVar(&o.IPC, "ipc", "", "IPC namespace: private, shareable, none, host or container:NAME")
	fs.StringVar(&o.UTS, "uts", "", "UTS namespace: private, host or container:NAME")
	fs.StringVar(&o.CgroupNS, "cgroupns", "", "cgroup namespace: private, host or container:NAME")

	fs.StringVarP(&o.User, "user", "u", "", "user[:group] or uid[:gid] to run as")
	fs.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&o.Hostname, "hostname", "h", "", "container host name")
	fs.Var(entrypointValue{&o.Entrypoint}, "entrypoint", "override the image's entrypoint (\"\" clears it)")
	fs.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to copy it from here)")
	fs.StringArrayVar(&o.EnvFile, "env-file", nil, "read environment variables from a file")

	fs.StringArrayVarP(&o.Volumes, "volume", "v", nil, "bind mount SRC:DST[:ro|rw|z|Z|propagation]")
	fs.StringArrayVar(&o.Mounts, "mount", nil, "mount: type=bind,source=SRC,target=DST[,readonly] or type=tmpfs,target=DST[,tmpfs-size=N][,tmpfs-mode=M]")
	fs.StringArrayVar(&o.Tmpfs, "tmpfs", nil, "mount a tmpfs: DST[:OPTIONS]")

	fs.StringVarP(&o.Memory, "memory", "m", "", "memory limit (e.g. 512m, 2g)")
	fs.Int64Var(&o.PidsLimit, "pids-limit", 0, "maximum number of processes (-1 or 0: unlimited)")
	fs.StringVar(&o.CPUs, "cpus", "", "number of CPUs (e.g. 1.5)")
	fs.StringArrayVar(&o.Ulimits, "ulimit", nil, "resource limit NAME=SOFT[:HARD]")
	fs.StringArrayVar(&o.Sysctls, "sysctl", nil, "namespaced kernel parameter KEY=VALUE")
	fs.StringArrayVar(&o.Devices, "device", nil, "add a host device HOST[:CONTAINER][:PERMISSIONS]")
}

// ParseRunArgs parses a whole command line such as
// `run --cap-add SYS_TIME IMAGE CMD...` (a leading docker/podman/brig and
// "container" are accepted too). Flags stop at the image, as in docker.
// The result is validated.
func ParseRunArgs(args []string) (*Options, error) {
	if len(args) > 0 && (args[0] == "docker" || args[0] == "podman" || args[0] == "brig") {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "container" {
		args = args[1:]
	}
	if len(args) == 0 || (args[0] != "run" && args[0] != "create") {
		return nil, errors.New(`expected a "run" or "create" command line, e.g. run --cap-drop ALL IMAGE CMD`)
	}
	o := &Options{}
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.Usage = func() {}
	fs.SetOutput(discard{})
	AddRunFlags(fs, o)
	if err := fs.Parse(args[1:]); err != nil {
		return nil, FlagError(fs, err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return nil, errors.New(`"run" needs an image: run [OPTIONS] IMAGE [COMMAND] [ARG...]`)
	}
	o.Image, o.Command = rest[0], rest[1:]
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// FlagError adds a "did you mean" hint to pflag's unknown-flag errors.
func FlagError(fs *pflag.FlagSet, err error) error {
	msg := err.Error()
	var name string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		name = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// unknown shorthand flag: 'x' in -x
		if i := strings.Index(msg, "'"); i >= 0 && i+1 < len(msg) {
			name = msg[i+1 : i+2]
		}
	default:
		return err
	}
	if best := suggest(fs, name); best != "" {
		return fmt.Errorf("%s (did you mean --%s?)", msg, best)
	}
	return fmt.Errorf("%s (see brig run --help for the supported flags)", msg)
}

// suggest returns the registered flag closest to name, if close enough.
func suggest(fs *pflag.FlagSet, name string) string {
	best, bestD := "", 1<<30
	fs.VisitAll(func(f *pflag.Flag) {
		d := distance(name, f.Name)
		if strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	if bestD <= 2 || (bestD <= 3 && len(name) > 6) {
		return best
	}
	return ""
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
