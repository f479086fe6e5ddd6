// Package profile is brig's record of what a container used: capabilities
// (with how often and from which syscall), syscalls, ports and written paths.
// The recorder produces it, people read and merge it, and the exporters turn it
// into enforcement (run flags, seccomp, Landlock, Kubernetes). It is pure Go
// and does no syscalls, so it is tested anywhere.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/brigrt/brig/internal/caps"
)

// Version is the schema version this package reads and writes. A reader
// refuses newer versions instead of silently dropping what it can't see.
const Version = 1

// Profile is one recording, or the union of several.
type Profile struct {
	Version int `json:"version"`
	// Arch is the syscall ABI the names refer to ("x86_64").
	Arch string `json:"arch"`
	// Command is what was run, for the reader's benefit.
	Command      []string     `json:"command,omitempty"`
	Capabilities []Capability `json:"capabilities"`
	Syscalls     []string     `json:"syscalls"`
	Network      Network      `json:"network"`
	Files        Files        `json:"files"`
}

// Capability is one capability the container's processes checked.
type Capability struct {
	Name    string `json:"name"`
	Granted uint64 `json:"granted"`
	Denied  uint64 `json:"denied"`
	// Syscalls are the syscalls during which the kernel checked it.
	Syscalls []string `json:"syscalls,omitempty"`
}

// Network lists the sockets' local and remote endpoints.
type Network struct {
	Bind    []Endpoint `json:"bind"`
	Connect []Endpoint `json:"connect"`
}

// Endpoint is a protocol, an address and a port. Addr is empty for "any".
type Endpoint struct {
	Proto string `json:"proto"`
	Addr  string `json:"addr,omitempty"`
	Port  uint16 `json:"port"`
}

func (e Endpoint) String() string {
	a := e.Addr
	if a == "" {
		a = "*"
	} else if strings.Contains(a, ":") {
		a = "[" + a + "]"
	}
	return fmt.Sprintf("%s/%s:%d", e.Proto, a, e.Port)
}

// Files lists the paths the container wrote, as the container saw them.
type Files struct {
	// Written are files opened for writing outside tmpfs.
	Written []string `json:"written"`
	// Tmpfs are the mount points of tmpfs file systems written to; the
	// files inside are scratch and not listed one by one.
	Tmpfs []string `json:"tmpfs,omitempty"`
}

// Protocols an Endpoint may name.
var protos = map[string]bool{"tcp": true, "udp": true, "mptcp": true, "sctp": true, "raw": true, "other": true}

// New returns an empty profile of the current version.
func New(arch string) *Profile {
	p := &Profile{Version: Version, Arch: arch}
	p.Normalize()
	return p
}

// Cap returns the entry for name, or nil.
func (p *Profile) Cap(name string) *Capability {
	n := caps.Normalize(name)
	for i := range p.Capabilities {
		if p.Capabilities[i].Name == n {
			return &p.Capabilities[i]
		}
	}
	return nil
}

// Used lists the capabilities that were granted at least once: the set the
// container needs. Denied-only checks are not needed (the program coped).
func (p *Profile) Used() []string {
	var out []string
	for _, c := range p.Capabilities {
		if c.Granted > 0 {
			out = append(out, c.Name)
		}
	}
	return out
}

// Normalize sorts and de-duplicates every list and turns nil lists into
// empty ones, so equal profiles serialize to equal bytes.
func (p *Profile) Normalize() {
	byName := map[string]*Capability{}
	var names []string
	for _, c := range p.Capabilities {
		c.Name = caps.Normalize(c.Name)
		if e, ok := byName[c.Name]; ok {
			e.Granted += c.Granted
			e.Denied += c.Denied
			e.Syscalls = append(e.Syscalls, c.Syscalls...)
			continue
		}
		cc := c
		cc.Syscalls = append([]string(nil), c.Syscalls...)
		byName[c.Name] = &cc
		names = append(names, c.Name)
	}
	sort.Slice(names, func(i, j int) bool { return capLess(names[i], names[j]) })
	p.Capabilities = make([]Capability, 0, len(names))
	for _, n := range names {
		c := byName[n]
		c.Syscalls = uniq(c.Syscalls)
		if len(c.Syscalls) == 0 {
			c.Syscalls = nil
		}
		p.Capabilities = append(p.Capabilities, *c)
	}
	p.Syscalls = uniq(p.Syscalls)
	p.Network.Bind = uniqEP(p.Network.Bind)
	p.Network.Connect = uniqEP(p.Network.Connect)
	p.Files.Written = uniq(p.Files.Written)
	p.Files.Tmpfs = uniq(p.Files.Tmpfs)
	if len(p.Files.Tmpfs) == 0 {
		p.Files.Tmpfs = nil
	}
}

// capLess orders by capability number, unknown names last by name.
func capLess(a, b string) bool {
	ca, ea := caps.Parse(a)
	cb, eb := caps.Parse(b)
	switch {
	case ea == nil && eb == nil:
		return ca < cb
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return a < b
}

func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func uniqEP(in []Endpoint) []Endpoint {
	out := make([]Endpoint, 0, len(in))
	seen := map[Endpoint]bool{}
	for _, e := range in {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Addr < b.Addr
	})
	return out
}

// Validate checks what a hand-edited or foreign file could get wrong.
func (p *Profile) Validate() error {
	if p.Version != Version {
		if p.Version > Version {
			return fmt.Errorf("profile version %d is newer than this brig understands (%d); upgrade brig", p.Version, Version)
		}
		return fmt.Errorf("profile version %d is not supported (expected %d)", p.Version, Version)
	}
	if p.Arch == "" {
		return errors.New(`profile has no "arch" (e.g. "x86_64")`)
	}
	var errs []error
	for i, c := range p.Capabilities {
		if !caps.Known(c.Name) {
			errs = append(errs, fmt.Errorf("capabilities[%d]: unknown capability %q", i, c.Name))
		}
		for _, s := range c.Syscalls {
			if !validSyscallName(s) {
				errs = append(errs, fmt.Errorf("capabilities[%d] (%s): invalid syscall name %q", i, c.Name, s))
			}
		}
	}
	for i, s := range p.Syscalls {
		if !validSyscallName(s) {
			errs = append(errs, fmt.Errorf("syscalls[%d]: invalid syscall name %q", i, s))
		}
	}
	for kind, list := range map[string][]Endpoint{"bind": p.Network.Bind, "connect": p.Network.Connect} {
		for i, e := range list {
			if !protos[e.Proto] {
				errs = append(errs, fmt.Errorf("network.%s[%d]: unknown protocol %q (tcp, udp, mptcp, sctp, raw, other)", kind, i, e.Proto))
			}
			if e.Addr != "" {
				if _, err := netip.ParseAddr(e.Addr); err != nil {
					errs = append(errs, fmt.Errorf("network.%s[%d]: invalid address %q", kind, i, e.Addr))
				}
			}
		}
	}
	for kind, list := range map[string][]string{"written": p.Files.Written, "tmpfs": p.Files.Tmpfs} {
		for i, f := range list {
			if !strings.HasPrefix(f, "/") {
				errs = append(errs, fmt.Errorf("files.%s[%d]: path %q is not absolute", kind, i, f))
			}
		}
	}
	return errors.Join(errs...)
}

// validSyscallName accepts lower-case names such as "openat" or
// "syscall_470" (a number the recorder could not name).
func validSyscallName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Parse reads a profile. Syntax errors name the line and column.
func Parse(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, jsonError(data, dec, err)
	}
	if dec.More() {
		line, col := position(data, int(dec.InputOffset()))
		return nil, fmt.Errorf("line %d, column %d: unexpected data after the profile", line, col)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.Normalize()
	return &p, nil
}

// Load reads a profile file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Marshal gives the indented, normalized JSON form with a final newline.
func (p *Profile) Marshal() ([]byte, error) {
	c := *p
	c.Normalize()
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Write stores the profile at path (0644: it holds no secrets).
func (p *Profile) Write(path string) error {
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func jsonError(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := position(data, int(se.Offset))
		return fmt.Errorf("line %d, column %d: %v", l, c, se)
	case errors.As(err, &te):
		l, c := position(data, int(te.Offset))
		return fmt.Errorf("line %d, column %d: %s must be %s, not %s", l, c, te.Field, te.Type, te.Value)
	case errors.Is(err, io.EOF):
		return errors.New("empty profile")
	case errors.Is(err, io.ErrUnexpectedEOF):
		l, c := position(data, len(data))
		return fmt.Errorf("line %d, column %d: unexpected end of profile", l, c)
	}
	// Unknown fields and the like: the decoder stopped at InputOffset.
	l, c := position(data, int(dec.InputOffset()))
	return fmt.Errorf("line %d, column %d: %v", l, c, err)
}

// position turns a byte offset into 1-based line and column.
func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}
