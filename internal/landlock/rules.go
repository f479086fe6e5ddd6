// Package landlock confines a container's init, right before execve, to the
// TCP ports and paths it may use (Landlock LSM). It degrades by the kernel's
// Landlock ABI and reports exactly what it applied: a rule the kernel can't
// enforce is a warning, never a claim.
//
// It is imported by brig-runtime's init, so it only depends on x/sys/unix
// and runtime-spec (for the MPTCP seccomp rule).
package landlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Annotation is the OCI annotation holding the JSON form of Rules.
const Annotation = "run.brig.landlock"

// Rules are what the container may do. A nil Net or FS leaves that area
// unrestricted; an empty list inside a non-nil one allows nothing.
type Rules struct {
	Net *Net `json:"net,omitempty"`
	FS  *FS  `json:"fs,omitempty"`
}

// Net lists the TCP ports that may be bound and connected to (Landlock ABI
// 4+). AnyBind/AnyConnect leave that direction unrestricted.
type Net struct {
	Bind       []uint16 `json:"bind"`
	Connect    []uint16 `json:"connect"`
	AnyBind    bool     `json:"anyBind,omitempty"`
	AnyConnect bool     `json:"anyConnect,omitempty"`
}

// FS lists the trees that stay readable (and executable) and writable.
// Anything not beneath one of them is denied.
type FS struct {
	RO []string `json:"ro"`
	RW []string `json:"rw"`
}

// Empty reports whether the rules restrict nothing.
func (r Rules) Empty() bool { return r.Net == nil && r.FS == nil }

// Parse reads the --security-opt form, without the "landlock=" prefix:
//
//	bind:80,bind:443,connect:none,ro:/usr,rw:/tmp
//
// Keys are bind, connect (a TCP port, "none" or "any"), ro and rw (an
// absolute path). Keys repeat to list several values. Any bind or connect
// item restricts the network; a direction not named is then denied
// entirely ("bind:80" alone means the container cannot connect anywhere).
// Any ro or rw item restricts the file system to the listed trees. Paths
// cannot contain commas.
func Parse(s string) (Rules, error) {
	var r Rules
	s = strings.TrimSpace(s)
	if s == "" {
		return r, errors.New("landlock: empty rule list (expected e.g. bind:80,connect:none,ro:/usr,rw:/tmp)")
	}
	var net Net
	var fs FS
	seenNet, seenFS := false, false
	for i, item := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || val == "" {
			return r, fmt.Errorf("landlock: item %d %q: expected key:value (bind:PORT, connect:PORT, ro:PATH, rw:PATH)", i+1, item)
		}
		switch key {
		case "bind", "connect":
			seenNet = true
			list, any := &net.Bind, &net.AnyBind
			if key == "connect" {
				list, any = &net.Connect, &net.AnyConnect
			}
			switch val {
			case "none":
			case "any":
				*any = true
			default:
				p, err := parsePort(val)
				if err != nil {
					return r, fmt.Errorf("landlock: item %d %q: %w", i+1, item, err)
				}
				*list = append(*list, p)
			}
		case "ro", "rw":
			seenFS = true
			if err := checkPath(val); err != nil {
				return r, fmt.Errorf("landlock: item %d %q: %w", i+1, item, err)
			}
			if key == "ro" {
				fs.RO = append(fs.RO, filepath.Clean(val))
			} else {
				fs.RW = append(fs.RW, filepath.Clean(val))
			}
		default:
			return r, fmt.Errorf("landlock: item %d %q: unknown key %q (bind, connect, ro, rw)", i+1, item, key)
		}
	}
	if seenNet {
		r.Net = &net
	}
	if seenFS {
		r.FS = &fs
	}
	r.normalize()
	return r, r.Validate()
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid TCP port %q (1-65535, none or any)", s)
	}
	return uint16(n), nil
}

func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q is not absolute", p)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q contains a NUL byte", p)
	}
	return nil
}

// Validate checks rules that came from JSON.
func (r Rules) Validate() error {
	if r.Net != nil {
		for _, p := range append(append([]uint16(nil), r.Net.Bind...), r.Net.Connect...) {
			if p == 0 {
				return errors.New("landlock: port 0 is not a valid rule")
			}
		}
		if r.Net.AnyBind && len(r.Net.Bind) > 0 || r.Net.AnyConnect && len(r.Net.Connect) > 0 {
			return errors.New(`landlock: "any" and a port list for the same direction contradict each other`)
		}
	}
	if r.FS != nil {
		for _, p := range append(append([]string(nil), r.FS.RO...), r.FS.RW...) {
			if err := checkPath(p); err != nil {
				return fmt.Errorf("landlock: %w", err)
			}
		}
	}
	return nil
}

func (r *Rules) normalize() {
	if r.Net != nil {
		r.Net.Bind = sortPorts(r.Net.Bind)
		r.Net.Connect = sortPorts(r.Net.Connect)
	}
	if r.FS != nil {
		r.FS.RO = sortPaths(r.FS.RO)
		r.FS.RW = sortPaths(r.FS.RW)
	}
}

func sortPorts(in []uint16) []uint16 {
	out := []uint16{}
	seen := map[uint16]bool{}
	for _, p := range in {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortPaths(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, p := range in {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// String is the --security-opt form (without "landlock="); Parse(String())
// gives the rules back.
func (r Rules) String() string {
	var items []string
	if r.Net != nil {
		items = append(items, portItems("bind", r.Net.Bind, r.Net.AnyBind)...)
		items = append(items, portItems("connect", r.Net.Connect, r.Net.AnyConnect)...)
	}
	if r.FS != nil {
		for _, p := range r.FS.RO {
			items = append(items, "ro:"+p)
		}
		for _, p := range r.FS.RW {
			items = append(items, "rw:"+p)
		}
	}
	return strings.Join(items, ",")
}

func portItems(key string, ports []uint16, any bool) []string {
	if any {
		return []string{key + ":any"}
	}
	if len(ports) == 0 {
		return []string{key + ":none"}
	}
	var out []string
	for _, p := range ports {
		out = append(out, key+":"+strconv.Itoa(int(p)))
	}
	return out
}

// FromAnnotation decodes the run.brig.landlock annotation value.
func FromAnnotation(v string) (Rules, error) {
	var r Rules
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("landlock: annotation %s: %w", Annotation, err)
	}
	r.normalize()
	return r, r.Validate()
}

// Annotation encodes the rules for the run.brig.landlock annotation.
func (r Rules) Annotation() string {
	r.normalize()
	b, _ := json.Marshal(r) // plain structs: cannot fail
	return string(b)
}
