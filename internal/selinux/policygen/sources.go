package policygen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/brigrt/brig/internal/caps"
)

// Container is what FromContainer reports about a brig container.
type Container struct {
	Caps    []string // effective capability names
	Ports   []Port
	Mounts  []Mount
	Network bool
	DNS     bool
}

// FromContainer looks up a brig container by name or ID. It is nil until
// the container store is wired in (cmd/brig sets it); --from CONTAINER
// then reports that the store is unavailable.
var FromContainer func(nameOrID string) (*Container, error)

// FromFile fills a spec from an OCI config.json or a docker/podman
// inspect document, recognised by its shape.
func FromFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return FromJSON(data, path)
}

// FromJSON is FromFile on bytes; name labels errors and the header.
func FromJSON(data []byte, name string) (*Spec, error) {
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if trim[0] == '[' {
		var list []inspect
		if err := json.Unmarshal(trim, &list); err != nil {
			return nil, fmt.Errorf("%s: not docker/podman inspect JSON: %w", where(name, trim, err), err)
		}
		if len(list) != 1 {
			return nil, fmt.Errorf("%s: inspect output holds %d containers; give one", name, len(list))
		}
		return list[0].spec(name)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trim, &probe); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", where(name, trim, err), err)
	}
	if _, ok := probe["ociVersion"]; ok {
		var c ociConfig
		if err := json.Unmarshal(trim, &c); err != nil {
			return nil, fmt.Errorf("%s: bad OCI config: %w", where(name, trim, err), err)
		}
		return c.spec(name)
	}
	if _, ok := probe["HostConfig"]; ok {
		var i inspect
		if err := json.Unmarshal(trim, &i); err != nil {
			return nil, fmt.Errorf("%s: bad inspect JSON: %w", where(name, trim, err), err)
		}
		return i.spec(name)
	}
	return nil, fmt.Errorf("%s: neither an OCI config.json (no ociVersion) nor inspect JSON (no HostConfig)", name)
}

// where turns a JSON error's byte offset into "name:line:col".
func where(name string, data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return name
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%s:%d:%d", name, line, col)
}

type ociConfig struct {
	OCIVersion string `json:"ociVersion"`
	Process    *struct {
		Capabilities *struct {
			Bounding  []string `json:"bounding"`
			Effective []string `json:"effective"`
			Permitted []string `json:"permitted"`
		} `json:"capabilities"`
	} `json:"process"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Linux *struct {
		Namespaces []struct {
			Type string `json:"type"`
			Path string `json:"path"`
		} `json:"namespaces"`
	} `json:"linux"`
}

func (c *ociConfig) spec(name string) (*Spec, error) {
	s := &Spec{Source: "OCI config " + name, Network: true, DNS: true}
	if c.Process != nil && c.Process.Capabilities != nil {
		pc := c.Process.Capabilities
		// The permitted set bounds what the process can ever use; fall
		// back to bounding when a runtime left it empty.
		list := pc.Permitted
		if len(list) == 0 {
			list = pc.Effective
		}
		if len(list) == 0 {
			list = pc.Bounding
		}
		s.Caps = append(s.Caps, list...)
	}
	for _, m := range c.Mounts {
		bind := m.Type == "bind"
		ro := false
		for _, o := range m.Options {
			switch o {
			case "bind", "rbind":
				bind = true
			case "ro":
				ro = true
			}
		}
		if !bind || !strings.HasPrefix(m.Source, "/") || isRuntimeFile(m.Destination) {
			continue
		}
		s.Mounts = append(s.Mounts, Mount{Source: m.Source, Dest: m.Destination, RO: ro})
	}
	// Without a network namespace the container shares the host's; with
	// one but no interfaces configured we cannot tell from the config, so
	// the network stays on (use --no-network to turn it off).
	return s, nil
}

// isRuntimeFile skips the files engines bind in themselves
// (/etc/resolv.conf, /etc/hosts, /etc/hostname, /run/.containerenv):
// their labels are the engine's business, not the module's.
func isRuntimeFile(dest string) bool {
	switch dest {
	case "/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/run/.containerenv", "/dev/shm":
		return true
	}
	return false
}

type inspect struct {
	Name          string   `json:"Name"`
	EffectiveCaps []string `json:"EffectiveCaps"` // podman
	HostConfig    struct {
		CapAdd       []string                               `json:"CapAdd"`
		CapDrop      []string                               `json:"CapDrop"`
		Privileged   bool                                   `json:"Privileged"`
		NetworkMode  string                                 `json:"NetworkMode"`
		PortBindings map[string][]struct{ HostPort string } `json:"PortBindings"`
	} `json:"HostConfig"`
	Config struct {
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"Config"`
	Mounts []struct {
		Type        string `json:"Type"`
		Source      string `json:"Source"`
		Destination string `json:"Destination"`
		RW          bool   `json:"RW"`
	} `json:"Mounts"`
}

func (i *inspect) spec(name string) (*Spec, error) {
	s := &Spec{Source: "inspect JSON " + name, Network: true, DNS: true}
	switch {
	case len(i.EffectiveCaps) > 0:
		s.Caps = i.EffectiveCaps
	case i.HostConfig.Privileged:
		s.Caps = caps.All()
	default:
		list, err := caps.Tweak(caps.DockerDefault, i.HostConfig.CapAdd, i.HostConfig.CapDrop)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s.Caps = list
	}
	if i.HostConfig.NetworkMode == "none" {
		s.Network, s.DNS = false, false
	}
	// Published ports are what the container listens on.
	var keys []string
	for k := range i.HostConfig.PortBindings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, err := ParsePort(k, false)
		if err != nil {
			return nil, fmt.Errorf("%s: PortBindings: %w", name, err)
		}
		s.Ports = append(s.Ports, p)
	}
	for _, m := range i.Mounts {
		if m.Type != "bind" || isRuntimeFile(m.Destination) {
			continue
		}
		s.Mounts = append(s.Mounts, Mount{Source: m.Source, Dest: m.Destination, RO: !m.RW})
	}
	if !s.Network {
		s.Ports = nil
	}
	return s, nil
}

// FromRunArgs reads the docker-run flags that matter for the policy
// (--cap-add/--cap-drop, --privileged, -p, -v, --mount, --net) from
// "[run] FLAGS IMAGE [CMD...]". Other docker-run flags are accepted and
// ignored; unknown flags are an error so typos do not pass silently.
func FromRunArgs(args []string) (*Spec, error) {
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(new(bytes.Buffer))
	capAdd := fs.StringSlice("cap-add", nil, "")
	capDrop := fs.StringSlice("cap-drop", nil, "")
	priv := fs.Bool("privileged", false, "")
	publish := fs.StringArrayP("publish", "p", nil, "")
	volumes := fs.StringArrayP("volume", "v", nil, "")
	mounts := fs.StringArray("mount", nil, "")
	network := fs.String("network", "", "")
	fs.StringVar(network, "net", "", "")
	for _, f := range []string{"name", "workdir", "user", "entrypoint", "hostname", "restart", "memory", "cpus",
		"security-opt", "tmpfs", "device", "add-host", "ulimit", "log-driver", "log-opt", "env-file", "pid",
		"ipc", "uts", "userns", "cgroupns", "pull", "platform", "shm-size", "stop-signal", "label", "env",
		"dns", "dns-search", "dns-option", "expose", "group-add", "cpu-shares", "memory-swap", "pids-limit",
		"stop-timeout", "health-cmd", "cgroup-parent", "runtime", "annotation", "volumes-from", "link"} {
		fs.StringArray(f, nil, "")
	}
	for _, f := range []string{"e", "w", "u", "h", "l", "m", "c"} {
		fs.StringArrayP("short-"+f, f, nil, "")
	}
	for _, f := range []string{"rm", "init", "read-only", "no-healthcheck", "sig-proxy", "oom-kill-disable"} {
		fs.Bool(f, false, "")
	}
	fs.BoolP("detach", "d", false, "")
	fs.BoolP("interactive", "i", false, "")
	fs.BoolP("tty", "t", false, "")
	fs.BoolP("publish-all", "P", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("run flags: %w", err)
	}
	if fs.NArg() == 0 {
		return nil, fmt.Errorf("run flags: no image given")
	}
	s := &Spec{Source: "run " + strings.Join(args, " "), Network: true, DNS: true}
	if *priv {
		s.Caps = caps.All()
	} else {
		list, err := caps.Tweak(caps.DockerDefault, *capAdd, *capDrop)
		if err != nil {
			return nil, fmt.Errorf("run flags: %w", err)
		}
		s.Caps = list
	}
	if *network == "none" {
		s.Network, s.DNS = false, false
	}
	for _, p := range *publish {
		port, err := publishedPort(p)
		if err != nil {
			return nil, fmt.Errorf("run flags: %w", err)
		}
		s.Ports = append(s.Ports, port)
	}
	for _, v := range *volumes {
		m, ok, err := volumeMount(v)
		if err != nil {
			return nil, fmt.Errorf("run flags: %w", err)
		}
		if ok {
			s.Mounts = append(s.Mounts, m)
		}
	}
	for _, v := range *mounts {
		m, ok, err := mountFlag(v)
		if err != nil {
			return nil, fmt.Errorf("run flags: %w", err)
		}
		if ok {
			s.Mounts = append(s.Mounts, m)
		}
	}
	if !s.Network && len(s.Ports) > 0 {
		return nil, fmt.Errorf("run flags: -p with --network none publishes nothing")
	}
	return s, nil
}

// publishedPort reads -p [[IP:]HOSTPORT:]CPORT[/proto]; the container
// binds CPORT. Ranges are expanded only when short, to keep modules small.
func publishedPort(v string) (Port, error) {
	spec, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	i := strings.LastIndexByte(spec, ':')
	cport := spec[i+1:]
	if strings.Contains(cport, "-") {
		return Port{}, fmt.Errorf("-p %s: port ranges are not supported; list the ports", v)
	}
	n, err := strconv.Atoi(cport)
	if err != nil || n < 1 || n > 65535 {
		return Port{}, fmt.Errorf("-p %s: %q is not a container port", v, cport)
	}
	if proto != "tcp" && proto != "udp" {
		return Port{}, fmt.Errorf("-p %s: protocol %q is not tcp or udp", v, proto)
	}
	return Port{Proto: proto, Port: n}, nil
}

// volumeMount reads -v SRC:DST[:opts]; named volumes (no leading /) are
// the engine's container_file_t storage and need no rule.
func volumeMount(v string) (Mount, bool, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 {
		return Mount{}, false, nil // anonymous volume
	}
	if !strings.HasPrefix(parts[0], "/") {
		return Mount{}, false, nil
	}
	m := Mount{Source: parts[0], Dest: parts[1]}
	if len(parts) > 2 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.RO = true
			case "z", "Z":
				// Relabelled to container_file_t by the engine.
				m.Type = "container_file_t"
			}
		}
	}
	return m, true, nil
}

// mountFlag reads --mount type=bind,source=/a,target=/b[,readonly].
func mountFlag(v string) (Mount, bool, error) {
	var m Mount
	typ := "volume"
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "type":
			typ = val
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Dest = val
		case "readonly", "ro":
			m.RO = val == "" || val == "true" || val == "1"
		}
	}
	if typ != "bind" {
		return m, false, nil
	}
	if !strings.HasPrefix(m.Source, "/") {
		return m, false, fmt.Errorf("--mount %s: a bind mount needs an absolute source", v)
	}
	return m, true, nil
}
