package audit2allow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/brigrt/brig/internal/selinux/avc"
	"github.com/brigrt/brig/internal/selinux/build"
)

// AuditLog is what -a reads.
var AuditLog = "/var/log/audit/audit.log"

// ContainerLevel resolves --container NAME to the container's SELinux
// level (its MCS categories). It is nil until the container store is wired
// in by cmd/brig; until then --container reports that, and --level takes
// a level directly.
var ContainerLevel func(nameOrID string) (string, error)

// Config is one `brig policy audit2allow` run.
type Config struct {
	Inputs    []string // files; "-" is stdin; none means stdin
	All       bool     // -a: AuditLog
	Dmesg     bool     // -d: the kernel ring buffer via dmesg(1)
	Container string
	Filter    Filter
	Options
	PackageName string // -M NAME: write NAME.te and build NAME.pp in Dir
	Dir         string // where -M writes; "" is the current directory
	Merge       string // append missing rules to this .te
	Output      string // -o: append the output to this file
	Strict      bool   // malformed records are fatal
	Policy      string // binary policy to explain the rules against
}

// ErrMalformed is returned under Strict when some records were malformed.
var ErrMalformed = errors.New("malformed AVC records (see above)")

// Run reads the inputs and writes rules, a module or a merged .te.
// Problems with input lines go to stderr with file:line.
func Run(ctx context.Context, c Config, stdin io.Reader, stdout, stderr io.Writer) error {
	if c.Container != "" {
		if ContainerLevel == nil {
			return fmt.Errorf("--container %s: brig's container store is not available in this build; use --level LEVEL", c.Container)
		}
		lvl, err := ContainerLevel(c.Container)
		if err != nil {
			return fmt.Errorf("--container %s: %w", c.Container, err)
		}
		c.Filter.Level = lvl
	}
	// Most garbage is per-line scratch and the input buffer: collect less
	// often, but under a soft limit so 100k denials stay well below the
	// issue's 100 MB budget.
	defer debug.SetGCPercent(debug.SetGCPercent(300))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	set := NewSet(c.Filter)
	bad := 0
	report := func(probs []*avc.LineError) {
		for _, pr := range probs {
			if !pr.Warn {
				bad++
			}
			fmt.Fprintln(stderr, "brig:", pr)
		}
	}
	parse := func(r io.Reader, name string) error {
		p := &avc.Parser{File: name, Details: c.Explain}
		probs, err := p.Parse(r, func(rec *avc.Record) error { set.Add(rec); return nil })
		report(probs)
		return err
	}
	inputs := c.Inputs
	if c.All {
		inputs = append(inputs, AuditLog)
	}
	if c.Dmesg {
		out, err := exec.CommandContext(ctx, "dmesg").Output()
		if err != nil {
			return fmt.Errorf("dmesg: %w", err)
		}
		if err := parse(bytes.NewReader(out), "dmesg"); err != nil {
			return err
		}
	}
	if len(inputs) == 0 && !c.Dmesg {
		inputs = []string{"-"}
	}
	for _, in := range inputs {
		if in == "-" {
			if err := parse(stdin, "stdin"); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		part, probs := ParseBytes(data, in, c.Filter, c.Explain)
		report(probs)
		set.merge(part)
	}
	if bad > 0 && c.Strict {
		return fmt.Errorf("%d %w", bad, ErrMalformed)
	}
	rules := set.Rules()
	if c.Policy != "" {
		facts, err := PolicyFacts(ctx, c.Policy, rules)
		if err != nil {
			return err
		}
		for i := range rules {
			rules[i].Fact = &facts[i]
		}
	}
	switch {
	case c.Merge != "":
		return merge(c, rules, stdout)
	case c.PackageName != "":
		return writePackage(ctx, c, rules, stdout)
	}
	var buf bytes.Buffer
	if err := Write(&buf, rules, c.Options); err != nil {
		return err
	}
	if c.Output != "" {
		f, err := os.OpenFile(c.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	_, err := stdout.Write(buf.Bytes())
	return err
}

func merge(c Config, rules []Rule, stdout io.Writer) error {
	te, err := os.ReadFile(c.Merge)
	if err != nil {
		return err
	}
	out, added := Merge(te, rules, c.Options)
	if len(added) == 0 {
		fmt.Fprintf(stdout, "%s already grants every denied permission; nothing added\n", c.Merge)
		return nil
	}
	if err := writeAtomic(c.Merge, out); err != nil {
		return err
	}
	n := 0
	for _, r := range added {
		n += len(r.Perms)
	}
	fmt.Fprintf(stdout, "added %d permission(s) in %d rule(s) to %s\n", n, len(added), c.Merge)
	return nil
}

func writePackage(ctx context.Context, c Config, rules []Rule, stdout io.Writer) error {
	name := c.PackageName
	if strings.ContainsAny(name, "/ ") || name == "" {
		return fmt.Errorf("-M %q: want a module name, not a path", name)
	}
	if len(rules) == 0 {
		return errors.New("no denials to build a module from")
	}
	o := c.Options
	o.Module = name
	var buf bytes.Buffer
	if err := Write(&buf, rules, o); err != nil {
		return err
	}
	te := filepath.Join(c.Dir, name+".te")
	if err := writeAtomic(te, buf.Bytes()); err != nil {
		return err
	}
	if _, err := build.Module(ctx, te); err != nil {
		return fmt.Errorf("compiling %s: %w", te, err)
	}
	_, err := io.WriteString(stdout, Banner(name))
	return err
}

func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".brig-*.te")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
