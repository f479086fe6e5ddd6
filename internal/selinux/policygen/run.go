package policygen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/brigrt/brig/internal/selinux/refpolicy"
)

// Config is one `brig policy generate` run: a base from --from or the
// docker-run arguments, then the explicit flags on top.
type Config struct {
	Name       string
	From       string   // config.json, inspect JSON, or a brig container
	RunArgs    []string // "run FLAGS IMAGE" after --
	Caps       []string // --cap (adds to the base)
	Bind       []string // --port
	Connect    []string // --connect
	Mounts     []string // --mount
	DNS        bool     // --dns
	NoDNS      bool
	NoNetwork  bool
	Permissive bool
	UserNS     bool
	CIL        bool
	FileCon    string // file_contexts to type mounts; "" is the policy's
	Policy     string // binary policy whose port types to use; "" is refpolicy's table
	Output     string // file to write; "" is stdout
}

// Generate builds the spec and writes the module.
func Generate(c Config, stdout io.Writer) error {
	var s *Spec
	var err error
	switch {
	case c.From != "" && len(c.RunArgs) > 0:
		return errors.New("give --from or a run command line, not both")
	case len(c.RunArgs) > 0:
		s, err = FromRunArgs(c.RunArgs)
	case c.From != "":
		s, err = fromSource(c.From)
	default:
		s = &Spec{Source: "command-line flags", Network: true}
	}
	if err != nil {
		return err
	}
	s.Name = c.Name
	s.Caps = append(s.Caps, c.Caps...)
	for _, p := range c.Bind {
		port, err := ParsePort(p, false)
		if err != nil {
			return err
		}
		s.Ports = append(s.Ports, port)
	}
	for _, p := range c.Connect {
		port, err := ParsePort(p, true)
		if err != nil {
			return err
		}
		s.Ports = append(s.Ports, port)
	}
	for _, m := range c.Mounts {
		mnt, err := ParseMount(m)
		if err != nil {
			return err
		}
		s.Mounts = append(s.Mounts, mnt)
	}
	if c.DNS {
		s.DNS = true
	}
	if c.NoDNS {
		s.DNS = false
	}
	if c.NoNetwork {
		s.Network, s.DNS = false, false
	}
	if c.Policy != "" {
		if s.PortTable, err = refpolicy.ReadPorts(context.Background(), c.Policy); err != nil {
			return err
		}
	}
	s.Permissive = c.Permissive
	s.UserNS = c.UserNS
	var lookup func(string) (string, error)
	if needsLookup(s) {
		var fc *FileContexts
		if c.FileCon != "" {
			fc, err = LoadFileContexts(c.FileCon)
		} else {
			fc, err = DefaultFileContexts()
		}
		if err != nil {
			// Mounts may still carry their own label; Normalize reports
			// the ones that do not.
			fc = nil
		}
		lookup = Lookup(fc)
	}
	if err := s.Normalize(lookup); err != nil {
		return err
	}
	var buf bytes.Buffer
	if c.CIL {
		err = s.WriteCIL(&buf)
	} else {
		err = s.WriteTE(&buf)
	}
	if err != nil {
		return err
	}
	if c.Output == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(c.Output, buf.Bytes(), 0o644)
}

func needsLookup(s *Spec) bool {
	for _, m := range s.Mounts {
		if m.Type == "" {
			return true
		}
	}
	return false
}

// fromSource reads a file, or asks the container store for a name.
func fromSource(from string) (*Spec, error) {
	if st, err := os.Stat(from); err == nil && st.Mode().IsRegular() {
		return FromFile(from)
	}
	if strings.HasSuffix(from, ".json") || strings.Contains(from, "/") {
		return nil, fmt.Errorf("--from %s: no such file", from)
	}
	if FromContainer == nil {
		return nil, fmt.Errorf("--from %s: not a file, and brig's container store is not available in this build", from)
	}
	c, err := FromContainer(from)
	if err != nil {
		return nil, fmt.Errorf("--from %s: %w", from, err)
	}
	return &Spec{Source: "brig container " + from, Caps: c.Caps, Ports: c.Ports,
		Mounts: c.Mounts, Network: c.Network, DNS: c.DNS}, nil
}
