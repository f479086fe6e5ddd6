package lint

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/brigrt/brig/internal/caps"
	"github.com/spf13/pflag"
)

// runValueFlags are docker/podman run flags that take a value but do not
// matter to the rules. They are declared so their values are not mistaken
// for the image name.
var runValueFlags = []struct{ long, short string }{
	{"add-host", ""}, {"annotation", ""}, {"attach", "a"}, {"arch", ""}, {"authfile", ""},
	{"blkio-weight", ""}, {"blkio-weight-device", ""}, {"cgroup-parent", ""}, {"cgroupns", ""},
	{"cgroups", ""}, {"cgroup-conf", ""}, {"cidfile", ""}, {"conmon-pidfile", ""},
	{"cpu-count", ""}, {"cpu-percent", ""}, {"cpu-period", ""}, {"cpu-quota", ""},
	{"cpu-rt-period", ""}, {"cpu-rt-runtime", ""}, {"cpu-shares", "c"}, {"cpus", ""},
	{"cpuset-cpus", ""}, {"cpuset-mems", ""}, {"detach-keys", ""}, {"device-cgroup-rule", ""},
	{"device-read-bps", ""}, {"device-read-iops", ""}, {"device-write-bps", ""},
	{"device-write-iops", ""}, {"dns", ""}, {"dns-option", ""}, {"dns-opt", ""}, {"dns-search", ""},
	{"domainname", ""}, {"entrypoint", ""}, {"env", "e"}, {"env-file", ""}, {"expose", ""},
	{"gidmap", ""}, {"gpus", ""}, {"group-add", ""}, {"health-cmd", ""}, {"health-interval", ""},
	{"health-retries", ""}, {"health-start-period", ""}, {"health-start-interval", ""},
	{"health-timeout", ""}, {"hostname", "h"}, {"hostuser", ""}, {"image-volume", ""},
	{"init-path", ""}, {"ip", ""}, {"ip6", ""}, {"isolation", ""}, {"kernel-memory", ""},
	{"label", "l"}, {"label-file", ""}, {"link", ""}, {"link-local-ip", ""}, {"log-driver", ""},
	{"log-opt", ""}, {"mac-address", ""}, {"memory", "m"}, {"memory-reservation", ""},
	{"memory-swap", ""}, {"memory-swappiness", ""}, {"name", ""}, {"network-alias", ""},
	{"net-alias", ""}, {"oom-score-adj", ""}, {"os", ""}, {"passwd-entry", ""}, {"personality", ""},
	{"pid-file", ""}, {"pidfile", ""}, {"pids-limit", ""}, {"platform", ""}, {"pod", ""},
	{"pod-id-file", ""}, {"preserve-fds", ""}, {"publish", "p"}, {"pull", ""}, {"requires", ""},
	{"restart", ""}, {"runtime", ""}, {"sdnotify", ""}, {"seccomp-policy", ""}, {"secret", ""},
	{"shm-size", ""}, {"stop-signal", ""}, {"stop-timeout", ""}, {"storage-opt", ""},
	{"subgidname", ""}, {"subuidname", ""}, {"sysctl", ""}, {"systemd", ""}, {"timeout", ""},
	{"tmpfs", ""}, {"tz", ""}, {"uidmap", ""}, {"ulimit", ""}, {"umask", ""}, {"unsetenv", ""},
	{"variant", ""}, {"volume-driver", ""}, {"volumes-from", ""}, {"workdir", "w"},
	{"group-entry", ""}, {"chrootdirs", ""}, {"decryption-key", ""}, {"cert-dir", ""}, {"creds", ""},
}

// runBoolFlags are the boolean flags the rules do not need.
var runBoolFlags = []struct{ long, short string }{
	{"detach", "d"}, {"interactive", "i"}, {"tty", "t"}, {"rm", ""}, {"init", ""},
	{"publish-all", "P"}, {"oom-kill-disable", ""}, {"no-healthcheck", ""}, {"sig-proxy", ""},
	{"disable-content-trust", ""}, {"quiet", "q"}, {"replace", ""}, {"http-proxy", ""},
	{"read-only-tmpfs", ""}, {"tls-verify", ""}, {"env-host", ""}, {"rootfs", ""}, {"no-hosts", ""},
	{"use-api-socket", ""}, {"help", ""},
}

// FromRunArgs normalises a run command line: "run [FLAGS] IMAGE [CMD...]",
// optionally after "docker", "podman" or "brig", and "create" or
// "container run" also work. Only the security-relevant flags are
// interpreted; every other docker and podman run flag is accepted and
// ignored. Unknown flags are an error, because guessing whether they take
// a value could hide the flags after them.
func FromRunArgs(args []string) (Container, error) {
	a := args
	if len(a) > 0 && (a[0] == "docker" || a[0] == "podman" || a[0] == "brig") {
		a = a[1:]
	}
	if len(a) > 0 && a[0] == "container" {
		a = a[1:]
	}
	if len(a) == 0 || (a[0] != "run" && a[0] != "create") {
		return Container{}, fmt.Errorf("want a run command line such as \"run --cap-drop ALL IMAGE\", got %q", strings.Join(args, " "))
	}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false) // the command after the image keeps its own flags
	for _, f := range runValueFlags {
		fs.StringArrayP(f.long, f.short, nil, "")
	}
	for _, f := range runBoolFlags {
		fs.BoolP(f.long, f.short, false, "")
	}
	privileged := fs.Bool("privileged", false, "")
	readOnly := fs.Bool("read-only", false, "")
	capAdd := fs.StringArray("cap-add", nil, "")
	capDrop := fs.StringArray("cap-drop", nil, "")
	secOpts := fs.StringArray("security-opt", nil, "")
	pid := fs.String("pid", "", "")
	network := fs.String("network", "", "")
	fs.StringVar(network, "net", "", "")
	ipc := fs.String("ipc", "", "")
	uts := fs.String("uts", "", "")
	fs.String("userns", "", "")
	user := fs.StringP("user", "u", "", "")
	volumes := fs.StringArrayP("volume", "v", nil, "")
	mounts := fs.StringArray("mount", nil, "")
	devices := fs.StringArray("device", nil, "")
	if err := fs.Parse(a[1:]); err != nil {
		return Container{}, fmt.Errorf("run command line: %w", err)
	}
	if fs.NArg() == 0 {
		return Container{}, fmt.Errorf("run command line: no image given")
	}
	c := Container{Kind: KindRun, Name: "(command line)", Joins: map[string]string{}}
	if names, _ := fs.GetStringArray("name"); len(names) > 0 {
		c.Name = names[len(names)-1]
	}
	c.Privileged = *privileged
	c.ReadOnlyRoot = *readOnly
	add, drop := splitList(*capAdd), splitList(*capDrop)
	if err := setDockerCaps(&c, add, drop); err != nil {
		return Container{}, err
	}
	for _, o := range *secOpts {
		if err := applySecurityOpt(&c, o); err != nil {
			return Container{}, err
		}
	}
	for _, ns := range []struct {
		name, val string
		host      *bool
	}{{"pid", *pid, &c.HostPID}, {"network", *network, &c.HostNet}, {"ipc", *ipc, &c.HostIPC}, {"uts", *uts, &c.HostUTS}} {
		nsMode(&c, ns.name, ns.val, ns.host)
	}
	setUser(&c, *user)
	for _, v := range *volumes {
		if m, ok := parseVolume(v); ok {
			c.Mounts = append(c.Mounts, m)
		}
	}
	for _, v := range *mounts {
		m, ok, err := parseMountFlag(v)
		if err != nil {
			return Container{}, err
		}
		if ok {
			c.Mounts = append(c.Mounts, m)
		}
	}
	for _, d := range *devices {
		host, _, _ := strings.Cut(d, ":")
		c.Devices = append(c.Devices, host)
	}
	return c, nil
}

// splitList accepts both repeated flags and comma lists.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// setDockerCaps applies Docker's add/drop rules to its default set.
func setDockerCaps(c *Container, add, drop []string) error {
	if c.Privileged {
		c.Caps = caps.Full()
		return nil
	}
	names, err := caps.Tweak(caps.DockerDefault, add, drop)
	if err != nil {
		return err
	}
	c.Caps, err = caps.FromNames(names)
	if err != nil {
		return err
	}
	for _, a := range add {
		if caps.IsAll(a) {
			c.Added = append(c.Added, "ALL")
		} else {
			c.Added = append(c.Added, caps.Normalize(a))
		}
	}
	return nil
}

var errUnknownOpt = errors.New("unknown --security-opt")

// applySecurityOpt reads one --security-opt (docker's "key=value" and the
// old "key:value" forms).
func applySecurityOpt(c *Container, opt string) error {
	key, val, hasVal := strings.Cut(opt, "=")
	if !hasVal {
		key, val, hasVal = strings.Cut(opt, ":")
	}
	switch key {
	case "label":
		applyLabel(c, val)
	case "seccomp":
		if val == "" {
			return fmt.Errorf("--security-opt %q: seccomp needs a profile or \"unconfined\"", opt)
		}
		c.SeccompUnconfined = val == "unconfined"
	case "no-new-privileges":
		switch {
		case !hasVal || val == "true" || val == "1":
			c.NoNewPrivs = true
		case val == "false" || val == "0":
			c.NoNewPrivs = false
		default:
			return fmt.Errorf("--security-opt %q: no-new-privileges takes true or false", opt)
		}
	case "apparmor", "systempaths", "mask", "unmask", "proc-opts", "seccomp-policy", "writable-cgroups":
		// Not judged by these rules.
	default:
		return fmt.Errorf("%w %q", errUnknownOpt, opt)
	}
	return nil
}

// applyLabel reads a label option value: "disable", "type:T", "level:L", ...
func applyLabel(c *Container, val string) {
	switch {
	case val == "disable":
		c.LabelDisabled = true
	case val == "type:spc_t":
		c.LabelDisabled = true // the super-privileged type is unconfined
		c.Labels = append(c.Labels, val)
	case val == "nested" || val == "":
	default:
		c.Labels = append(c.Labels, val)
	}
}

// nsMode reads --pid/--network/--ipc/--uts values.
func nsMode(c *Container, ns, val string, host *bool) {
	switch {
	case val == "host":
		*host = true
	case strings.HasPrefix(val, "container:"):
		c.Joins[ns] = strings.TrimPrefix(val, "container:")
	}
}

// setUser decides whether the user is root. "" means the image's user,
// which is root for most images.
func setUser(c *Container, u string) {
	c.User = u
	name, _, _ := strings.Cut(u, ":")
	c.Root = name == "" || name == "0" || name == "root"
}

// parseVolume reads -v SRC:DST[:OPTS]; only host paths matter.
func parseVolume(v string) (Mount, bool) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "/") {
		return Mount{}, false // anonymous or named volume
	}
	m := Mount{Source: parts[0], Target: parts[1]}
	if len(parts) > 2 {
		for _, o := range strings.Split(parts[2], ",") {
			if o == "ro" || o == "readonly" {
				m.ReadOnly = true
			}
		}
	}
	return m, true
}

// parseMountFlag reads --mount type=bind,source=/x,target=/y,readonly.
func parseMountFlag(v string) (Mount, bool, error) {
	var m Mount
	typ := "volume"
	for _, kv := range strings.Split(v, ",") {
		k, val, has := strings.Cut(kv, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			typ = val
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly = !has || val == "true" || val == "1"
		case "":
			return m, false, fmt.Errorf("--mount %q: empty field", v)
		}
	}
	if m.Target == "" {
		return m, false, fmt.Errorf("--mount %q: no target", v)
	}
	return m, typ == "bind" && m.Source != "", nil
}
