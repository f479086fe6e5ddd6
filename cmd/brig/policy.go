package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigrt/brig/internal/selinux/audit2allow"
	"github.com/brigrt/brig/internal/selinux/build"
	"github.com/brigrt/brig/internal/selinux/mls"
	"github.com/brigrt/brig/internal/selinux/policygen"
)

func init() {
	policy := &cobra.Command{
		Use:   "policy",
		Short: "Write, build and install SELinux policy modules for containers",
	}
	policy.AddCommand(policyAudit2allowCmd(), policyGenerateCmd(), policyBuildCmd(),
		policyInstallCmd(), policyLevelsCmd())
	root.AddCommand(policy)
}

func policyAudit2allowCmd() *cobra.Command {
	var c audit2allow.Config
	var typ, since, until string
	cmd := &cobra.Command{
		Use:   "audit2allow [FILE...]",
		Short: "Turn AVC denials into allow rules, a module, or additions to a .te",
		Long: `Reads AVC denials from audit.log, dmesg/journal lines or ausearch output
(files, -a, -d, or stdin) and prints allow rules grouped by source type, as
audit2allow does, without needing the policy loaded: denials for types the
loaded policy lacks are kept. -M NAME writes NAME.te and builds NAME.pp;
--merge FILE.te appends only the rules the module lacks.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Inputs = append(c.Inputs, args...)
			var err error
			if typ != "" {
				if c.Filter.Type, err = audit2allow.TypeFilter(typ); err != nil {
					return err
				}
			}
			if c.Filter.Since, err = parseTime(since); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if c.Filter.Until, err = parseTime(until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			err = audit2allow.Run(cmd.Context(), c, os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if errors.Is(err, audit2allow.ErrMalformed) {
				return &exitError{code: 1, err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&c.Inputs, "input", "i", nil, "read denials from FILE (repeatable; - is stdin)")
	f.BoolVarP(&c.All, "all", "a", false, "read "+audit2allow.AuditLog)
	f.BoolVarP(&c.Dmesg, "dmesg", "d", false, "read the kernel log through dmesg")
	f.StringVarP(&c.PackageName, "module-package", "M", "", "write NAME.te and build NAME.pp")
	f.StringVarP(&c.Module, "module", "m", "", "print a complete module called NAME")
	f.BoolVarP(&c.Requires, "requires", "r", false, "print a require block")
	f.BoolVarP(&c.Dontaudit, "dontaudit", "D", false, "write dontaudit rules")
	f.BoolVarP(&c.Xperms, "xperms", "x", false, "write allowxperm rules for ioctl commands")
	f.BoolVarP(&c.Explain, "explain", "e", false, "explain each rule: count, first record, reason")
	f.StringVarP(&typ, "type", "t", "", "only denials whose source or target type matches this regex")
	f.StringVar(&c.Container, "container", "", "only denials of this brig container (by its MCS level)")
	f.StringVar(&c.Filter.Level, "level", "", "only denials whose source level is LEVEL, e.g. s0:c1,c2")
	f.StringVar(&since, "since", "", "only denials at or after TIME (RFC 3339, unix seconds, or a duration like 1h)")
	f.StringVar(&until, "until", "", "only denials at or before TIME")
	f.StringVar(&c.Merge, "merge", "", "append the rules FILE.te lacks to it, with a require block")
	f.StringVarP(&c.Output, "output", "o", "", "append the output to FILE")
	f.BoolVar(&c.Strict, "strict", false, "exit 1 when some records are malformed")
	f.StringVarP(&c.Policy, "policy", "p", "", "explain rules against this binary policy (booleans, dontaudit, existing rules; needs setools)")
	return cmd
}

// parseTime reads RFC 3339, "2006-01-02 15:04:05", unix seconds or a
// duration back from now.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, unix seconds or a duration)", s)
}

func policyGenerateCmd() *cobra.Command {
	var c policygen.Config
	cmd := &cobra.Command{
		Use:   "generate NAME [--from CONFIG.json|INSPECT.json|CONTAINER] [-- run FLAGS IMAGE]",
		Short: "Write a container policy module (.te or CIL) from what a container needs",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Name = args[0]
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				if dash != 1 {
					return fmt.Errorf("give only NAME before --")
				}
				c.RunArgs = args[1:]
				if len(c.RunArgs) == 0 {
					return fmt.Errorf("nothing after --: want run FLAGS IMAGE")
				}
			} else if len(args) > 1 {
				return fmt.Errorf("unexpected arguments %q (a run command line goes after --)", args[1:])
			}
			return policygen.Generate(c, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.From, "from", "", "OCI config.json, docker/podman inspect JSON, or a brig container")
	f.StringArrayVar(&c.Caps, "cap", nil, "allow a capability (repeatable; ALL for every one)")
	f.StringArrayVar(&c.Bind, "port", nil, "bind PORT[/tcp|/udp] (repeatable)")
	f.StringArrayVar(&c.Connect, "connect", nil, "connect to PORT[/tcp|/udp] (repeatable)")
	f.StringArrayVar(&c.Mounts, "mount", nil, "bind mount SRC[:DST][:ro|rw][:type=T] (repeatable)")
	f.BoolVar(&c.DNS, "dns", false, "allow DNS resolution")
	f.BoolVar(&c.NoDNS, "no-dns", false, "do not allow DNS resolution")
	f.BoolVar(&c.NoNetwork, "no-network", false, "no network access at all")
	f.BoolVar(&c.Permissive, "permissive", false, "make the domain permissive (log, do not enforce)")
	f.BoolVar(&c.UserNS, "userns", false, "also allow the capabilities inside a user namespace")
	f.BoolVar(&c.CIL, "cil", false, "write CIL instead of a refpolicy .te")
	f.StringVar(&c.FileCon, "file-contexts", "", "file_contexts used to type mounts (default: the policy's)")
	f.StringVar(&c.Policy, "policy", "", "take port types from this binary policy (needs seinfo; default: the reference policy's table)")
	f.StringVarP(&c.Output, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

func policyBuildCmd() *cobra.Command {
	var base string
	cmd := &cobra.Command{
		Use:   "build FILE.te...",
		Short: "Compile modules to .pp (devel Makefile, or checkmodule and semodule_package)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if base != "" {
				pp, err := build.ContainerBase(cmd.Context(), base)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), pp)
			}
			if len(args) == 0 && base == "" {
				return fmt.Errorf("no .te files given")
			}
			for _, a := range args {
				pp, err := build.Module(cmd.Context(), a)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), pp)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "container-base", "", "also build refpolicy's container.pp in DIR from selinux-policy-src")
	return cmd
}

func policyInstallCmd() *cobra.Command {
	var o build.InstallOptions
	var withBase bool
	cmd := &cobra.Command{
		Use:   "install FILE.{te,pp,cil}...",
		Short: "Install modules with semodule (building .te files first)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if withBase {
				have, err := build.Installed(ctx, o)
				if err != nil {
					return err
				}
				if !have["container"] {
					dir, err := os.MkdirTemp("", "brig-container-base-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(dir)
					pp, err := build.ContainerBase(ctx, dir)
					if err != nil {
						return err
					}
					args = append([]string{pp}, args...)
				}
			}
			return build.Install(ctx, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Root, "path", "p", "", "alternate root holding etc/selinux and var/lib/selinux (semodule -p)")
	f.StringVarP(&o.Store, "store", "s", "", "policy store name (semodule -s)")
	f.BoolVarP(&o.NoReload, "noreload", "n", false, "do not load the policy into the kernel")
	f.IntVarP(&o.Priority, "priority", "X", 0, "module priority (semodule -X)")
	f.BoolVar(&withBase, "with-container-base", false, "also install refpolicy's container module when the store lacks it")
	return cmd
}

func policyLevelsCmd() *cobra.Command {
	var toRaw, toName, setrans string
	cmd := &cobra.Command{
		Use:   "levels --to-raw NAME | --to-name LEVEL",
		Short: "Translate MLS/MCS level names (setrans.conf) to raw levels and back",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (toRaw == "") == (toName == "") {
				return fmt.Errorf("give exactly one of --to-raw NAME or --to-name LEVEL")
			}
			path := setrans
			if path == "" {
				if path = mls.DefaultPath(); path == "" {
					return fmt.Errorf("no setrans.conf for the policy in /etc/selinux/config; give --setrans FILE")
				}
			}
			t, err := mls.Load(path)
			if err != nil {
				return err
			}
			var out string
			if toRaw != "" {
				out, err = t.ToRaw(toRaw)
			} else {
				out, err = t.ToName(toName)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&toRaw, "to-raw", "", "translate a level name or name range to raw form")
	f.StringVar(&toName, "to-name", "", "translate a raw level or range to its name")
	f.StringVar(&setrans, "setrans", "", "setrans.conf to use (default: the active policy's)")
	return cmd
}
