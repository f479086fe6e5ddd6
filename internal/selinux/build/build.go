// Package build compiles and installs SELinux policy modules with the
// toolchain on the host: the refpolicy devel Makefile for modules written
// with interfaces (policy_module, container_domain_template, ...),
// checkmodule plus semodule_package for plain modules, and semodule for
// installing .pp and .cil files.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Tool names a program and the packages that provide it.
type Tool struct {
	Name, Debian, Fedora string
}

// The tools this package runs.
var (
	Checkmodule     = Tool{"checkmodule", "checkpolicy", "checkpolicy"}
	SemodulePackage = Tool{"semodule_package", "semodule-utils", "policycoreutils"}
	Semodule        = Tool{"semodule", "policycoreutils", "policycoreutils"}
	Make            = Tool{"make", "make", "make"}
	M4              = Tool{"m4", "m4", "m4"}
	Tar             = Tool{"tar", "tar", "tar"}
)

// DevelMakefile is the refpolicy module Makefile; Debian's
// selinux-policy-dev and Fedora's selinux-policy-devel install it here.
var DevelMakefile = "/usr/share/selinux/devel/Makefile"

// RefpolicySource is Debian's selinux-policy-src tarball, which holds the
// container module Debian builds but does not ship.
var RefpolicySource = "/usr/src/selinux-policy-src.tar.zst"

// MissingError says which package to install for a missing tool or file.
type MissingError struct {
	What, Debian, Fedora string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found: install %s (Debian/Ubuntu) or %s (Fedora/RHEL)", e.What, e.Debian, e.Fedora)
}

// lookPath finds a tool or says which package has it.
func lookPath(t Tool) (string, error) {
	p, err := exec.LookPath(t.Name)
	if err != nil {
		return "", &MissingError{t.Name, t.Debian, t.Fedora}
	}
	return p, nil
}

// run runs a tool in dir and folds its output into the error.
func run(ctx context.Context, dir string, t Tool, args ...string) ([]byte, error) {
	p, err := lookPath(t)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String() + "\n" + out.String())
		return out.Bytes(), fmt.Errorf("%s %s: %w\n%s", t.Name, strings.Join(args, " "), err, msg)
	}
	return out.Bytes(), nil
}

var moduleLine = regexp.MustCompile(`(?m)^\s*(?:module\s+([A-Za-z][\w.-]*)\s+[\d.]+\s*;|policy_module\(\s*` + "`?" + `([A-Za-z][\w.-]*))`)

// ModuleName reads the module name a .te declares; it must equal the file
// name, as both checkmodule and the Makefile insist.
func ModuleName(te []byte) (name string, refpolicy bool, err error) {
	m := moduleLine.FindSubmatch(te)
	if m == nil {
		return "", false, errors.New("no `module NAME VERSION;` or `policy_module(NAME, VERSION)` line")
	}
	if len(m[2]) > 0 {
		return string(m[2]), true, nil
	}
	return string(m[1]), false, nil
}

// Module compiles a .te file to a .pp next to it and returns the .pp path.
// A .cil file needs no compiling and is returned as is.
func Module(ctx context.Context, path string) (string, error) {
	if strings.HasSuffix(path, ".cil") {
		if _, err := os.Stat(path); err != nil {
			return "", err
		}
		return path, nil
	}
	if !strings.HasSuffix(path, ".te") {
		return "", fmt.Errorf("%s: want a .te or .cil file", path)
	}
	te, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	name, ref, err := ModuleName(te)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".te")
	if name != base {
		return "", fmt.Errorf("%s: the module is called %q; the file must be %s.te", path, name, name)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	pp := filepath.Join(dir, name+".pp")
	if ref {
		return pp, develMake(ctx, dir, name)
	}
	return pp, plain(ctx, dir, name)
}

// develMake runs the refpolicy Makefile, which m4-expands the interfaces.
func develMake(ctx context.Context, dir, name string) error {
	if _, err := os.Stat(DevelMakefile); err != nil {
		return &MissingError{DevelMakefile, "selinux-policy-dev", "selinux-policy-devel"}
	}
	if _, err := lookPath(M4); err != nil {
		return err
	}
	_, err := run(ctx, dir, Make, "-f", DevelMakefile, name+".pp")
	if err != nil && strings.Contains(err.Error(), "virt_sandbox_domain_template") {
		// The 2015 article's template: Fedora's policy only.
		err = fmt.Errorf("%w\nvirt_sandbox_domain_template exists only in Fedora's policy; use container_domain_template(NAME) (brig policy generate writes such modules)", err)
	}
	return err
}

// plain compiles a module without macros: checkmodule -M (MLS, as the
// Makefile does) then semodule_package, with the .fc when there is one.
func plain(ctx context.Context, dir, name string) error {
	mod := name + ".mod"
	if _, err := run(ctx, dir, Checkmodule, "-M", "-m", "-o", mod, name+".te"); err != nil {
		return err
	}
	args := []string{"-o", name + ".pp", "-m", mod}
	if _, err := os.Stat(filepath.Join(dir, name+".fc")); err == nil {
		args = append(args, "-f", name+".fc")
	}
	_, err := run(ctx, dir, SemodulePackage, args...)
	return err
}

// InstallOptions are semodule's.
type InstallOptions struct {
	Root     string // -p: an alternate root holding etc/selinux and var/lib/selinux
	Store    string // -s: policy store name
	NoReload bool   // -n: do not load the new policy into the kernel
	Priority int    // -X: module priority; 0 means semodule's default (400)
}

// Install builds .te files and installs all modules in one semodule run,
// so a module and the container module it needs link together.
func Install(ctx context.Context, paths []string, o InstallOptions) error {
	if len(paths) == 0 {
		return errors.New("no modules to install")
	}
	var args []string
	if o.Root != "" {
		args = append(args, "-p", o.Root)
	}
	if o.Store != "" {
		args = append(args, "-s", o.Store)
	}
	if o.NoReload {
		args = append(args, "-n")
	}
	if o.Priority != 0 {
		args = append(args, "-X", strconv.Itoa(o.Priority))
	}
	for _, p := range paths {
		built := p
		if strings.HasSuffix(p, ".te") {
			var err error
			if built, err = Module(ctx, p); err != nil {
				return err
			}
		} else if !strings.HasSuffix(p, ".pp") && !strings.HasSuffix(p, ".cil") {
			return fmt.Errorf("%s: want a .te, .pp or .cil file", p)
		}
		abs, err := filepath.Abs(built)
		if err != nil {
			return err
		}
		args = append(args, "-i", abs)
	}
	_, err := run(ctx, "", Semodule, args...)
	return err
}

// Installed lists the module names in the store.
func Installed(ctx context.Context, o InstallOptions) (map[string]bool, error) {
	var args []string
	if o.Root != "" {
		args = append(args, "-p", o.Root)
	}
	if o.Store != "" {
		args = append(args, "-s", o.Store)
	}
	out, err := run(ctx, "", Semodule, append(args, "-l")...)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			m[f[0]] = true
		}
	}
	return m, nil
}

// ContainerBase builds the refpolicy container module (container.pp) in
// dir from selinux-policy-src. Debian ships only its interface file, so
// modules using container_domain_template compile but do not install
// until container.pp is installed with them.
func ContainerBase(ctx context.Context, dir string) (string, error) {
	if _, err := os.Stat(RefpolicySource); err != nil {
		return "", &MissingError{RefpolicySource, "selinux-policy-src", "selinux-policy (its container module is built in)"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, ext := range []string{"te", "fc", "if"} {
		member := "selinux-policy-src/policy/modules/services/container." + ext
		out, err := run(ctx, dir, Tar, "--zstd", "-xOf", RefpolicySource, member)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "container."+ext), out, 0o644); err != nil {
			return "", err
		}
	}
	return Module(ctx, filepath.Join(dir, "container.te"))
}
