// Package label parses Docker/podman SELinux label options and composes the
// process and mount labels of a container. Composition is pure so that a host
// without SELinux can still show (in inspect) what would be applied; Init uses
// go-selinux when the host has SELinux enabled.
//
// The MCS allocator (mcs.go) keeps its reservations on disk under a file
// lock, because go-selinux only guarantees uniqueness inside one process and
// every brig command is a separate process.
package label

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
	golabel "github.com/opencontainers/selinux/go-selinux/label"
)

// Options is the parsed form of --security-opt label=... values.
type Options struct {
	Type     string // process type, e.g. docker_apache_t
	Level    string // MLS/MCS level as the user wrote it (may be a setrans name)
	User     string // SELinux user
	Role     string // SELinux role
	FileType string // type of the mount label
	Disable  bool   // no label separation
	Nested   bool   // let the container see and change SELinux (podman's label=nested)
}

// Empty reports whether no label option was given.
func (o Options) Empty() bool { return o == Options{} }

// Strings renders the options in go-selinux's InitLabels form
// ("type:T", "level:L", ..., or "disable"). Nested has no go-selinux form.
func (o Options) Strings() []string {
	if o.Disable {
		return []string{"disable"}
	}
	var out []string
	for _, kv := range [][2]string{{"user", o.User}, {"role", o.Role}, {"type", o.Type}, {"level", o.Level}, {"filetype", o.FileType}} {
		if kv[1] != "" {
			out = append(out, kv[0]+":"+kv[1])
		}
	}
	return out
}

// String is the options as a user would write them after "label=", joined by
// commas, for annotations and messages.
func (o Options) String() string {
	s := o.Strings()
	if o.Nested {
		s = append(s, "nested")
	}
	return strings.Join(s, ",")
}

// ident is what SELinux accepts for user, role and type names.
var ident = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

const hint = "valid label options are type:T, level:L, user:U, role:R, filetype:T, disable and nested"

// Add parses one label option (the part after "label=" or "label:") into o.
func (o *Options) Add(opt string) error {
	switch opt {
	case "disable":
		o.Disable = true
		return nil
	case "nested":
		o.Nested = true
		return nil
	}
	k, v, ok := strings.Cut(opt, ":")
	if !ok {
		return fmt.Errorf("bad label option %q: %s", opt, hint)
	}
	if v == "" {
		return fmt.Errorf("bad label option %q: %s needs a value", opt, k)
	}
	var dst *string
	switch k {
	case "type":
		dst = &o.Type
	case "user":
		dst = &o.User
	case "role":
		dst = &o.Role
	case "filetype":
		dst = &o.FileType
	case "level":
		if !IsRawLevel(v) && !namedLevel.MatchString(v) {
			return fmt.Errorf("bad label option %q: invalid level %q", opt, v)
		}
		o.Level = v
		return nil
	default:
		return fmt.Errorf("bad label option %q: unknown key %q; %s", opt, k, hint)
	}
	if !ident.MatchString(v) {
		return fmt.Errorf("bad label option %q: %q is not a valid SELinux %s name", opt, v, k)
	}
	*dst = v
	return nil
}

// Parse parses a list of label options.
func Parse(list []string) (Options, error) {
	var o Options
	for _, s := range list {
		if err := o.Add(s); err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

// rawLevel matches a raw MLS/MCS level or range: s0, s0:c1,c2, s0-s15:c0.c1023.
var rawLevel = regexp.MustCompile(`^s[0-9]+(:c[0-9]+([.,]c[0-9]+)*)?(-s[0-9]+(:c[0-9]+([.,]c[0-9]+)*)?)?$`)

// namedLevel is what setrans.conf names look like (TopSecret,
// TopSecret:ProjectX, SystemLow-SystemHigh).
var namedLevel = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_ .:,-]*$`)

// IsRawLevel reports whether s is already a raw level (no translation needed).
func IsRawLevel(s string) bool { return rawLevel.MatchString(s) }

// Defaults are the base labels of a container, normally from the policy's
// contexts/lxc_contexts.
type Defaults struct {
	Process string // e.g. system_u:system_r:container_t:s0
	File    string // e.g. system_u:object_r:container_file_t:s0
}

// Builtin is what Fedora/Debian container-selinux ship, used when the host has
// no lxc_contexts so inspect can still show a meaningful label.
var Builtin = Defaults{
	Process: "system_u:system_r:container_t:s0",
	File:    "system_u:object_r:container_file_t:s0",
}

// PrivLevel is the level of the mount label of label-disabled containers;
// go-selinux reserves the top pair for it and the allocator never hands it out.
const PrivLevel = "s0:c1022,c1023"

// PolicyRoot returns /etc/selinux/<SELINUXTYPE> read from dir/config
// (dir is normally /etc/selinux). Empty when unknown.
func PolicyRoot(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "SELINUXTYPE="); ok {
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if v != "" && !strings.Contains(v, "/") {
				return filepath.Join(dir, v)
			}
		}
	}
	return ""
}

// LoadDefaults reads policyRoot/contexts/lxc_contexts. A missing file gives
// Builtin and no error; a malformed entry is an error with its line number.
func LoadDefaults(policyRoot string) (Defaults, error) {
	d := Builtin
	if policyRoot == "" {
		return d, nil
	}
	name := filepath.Join(policyRoot, "contexts", "lxc_contexts")
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Builtin, fmt.Errorf("%s:%d: expected key = \"context\"", name, n)
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		if k != "process" && k != "file" {
			continue
		}
		if _, err := split(v); err != nil {
			return Builtin, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		if k == "process" {
			d.Process = v
		} else {
			d.File = v
		}
	}
	return d, sc.Err()
}

// Labels are the composed labels of one container. Process is empty when
// label separation is disabled.
type Labels struct {
	Process string
	Mount   string
}

// split cuts a context into user, role, type and (optional) level.
func split(ctx string) ([4]string, error) {
	var c [4]string
	parts := strings.SplitN(ctx, ":", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return c, fmt.Errorf("invalid SELinux context %q (want user:role:type[:level])", ctx)
	}
	copy(c[:], parts)
	return c, nil
}

func join(c [4]string) string {
	s := c[0] + ":" + c[1] + ":" + c[2]
	if c[3] != "" {
		s += ":" + c[3]
	}
	return s
}

// Compose builds the labels the way go-selinux's InitLabels does: options
// override user/role/type/level of the process label; the mount label takes
// filetype, user and level. level is the raw level to use when o.Level is
// empty (an MCS pair from Reserve); o.Level must already be raw (translated).
func Compose(o Options, level string, d Defaults) (Labels, error) {
	p, err := split(d.Process)
	if err != nil {
		return Labels{}, err
	}
	f, err := split(d.File)
	if err != nil {
		return Labels{}, err
	}
	if o.Disable {
		f[3] = PrivLevel
		return Labels{Mount: join(f)}, nil
	}
	if o.Level != "" {
		level = o.Level
	}
	if level != "" && !IsRawLevel(level) {
		return Labels{}, fmt.Errorf("SELinux level %q is not a raw level (translate names such as TopSecret through setrans.conf first)", level)
	}
	if level != "" && p[3] != "" {
		// Policies without MLS have no level field; keep it absent there.
		p[3], f[3] = level, level
	}
	if o.User != "" {
		p[0], f[0] = o.User, o.User
	}
	if o.Role != "" {
		p[1] = o.Role
	}
	if o.Type != "" {
		p[2] = o.Type
	}
	if o.FileType != "" {
		f[2] = o.FileType
	}
	return Labels{Process: join(p), Mount: join(f)}, nil
}

// LevelOf returns the level field of a context ("" if none).
func LevelOf(ctx string) string {
	c, err := split(ctx)
	if err != nil {
		return ""
	}
	return c[3]
}

// TypeOf returns the type field of a context ("" if invalid).
func TypeOf(ctx string) string {
	c, err := split(ctx)
	if err != nil {
		return ""
	}
	return c[2]
}

// Enabled reports whether the host runs SELinux.
func Enabled() bool { return selinux.GetEnabled() }

// Init composes the labels for this host. With SELinux enabled it goes
// through go-selinux (which reads the loaded policy's lxc_contexts and checks
// the options); level, when not empty, replaces go-selinux's per-process
// random pair so the on-disk allocator stays the single source of truth.
// Without SELinux it composes the same strings from the policy files on disk
// (or Builtin) so inspect can show what would be applied.
func Init(o Options, level string) (Labels, error) {
	if selinux.GetEnabled() {
		opts := o.Strings()
		if !o.Disable && o.Level == "" && level != "" {
			opts = append(opts, "level:"+level)
		}
		p, m, err := golabel.InitLabels(opts)
		if err != nil {
			return Labels{}, err
		}
		return Labels{Process: p, Mount: m}, nil
	}
	d, err := LoadDefaults(PolicyRoot("/etc/selinux"))
	if err != nil {
		return Labels{}, err
	}
	return Compose(o, level, d)
}

// SharedLevel returns ctx with its level reduced to s0, so every container
// may use what carries it (the :z volume option).
func SharedLevel(ctx string) string {
	c, err := split(ctx)
	if err != nil {
		return ctx
	}
	c[3] = "s0"
	return join(c)
}
