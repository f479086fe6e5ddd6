package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/brigrt/brig/internal/profile"
	"github.com/brigrt/brig/internal/profile/export"
)

func init() {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show, merge, compare and export recorded least-privilege profiles",
		Long: `A profile records what a container used (brig run --record PROFILE):
the capabilities it was granted or denied, its syscalls, the ports it bound
and connected to and the files it wrote. These commands read such profiles
and turn them into enforcement (brig run --profile PROFILE applies them).`,
	}
	cmd.AddCommand(profileShowCmd(), profileMergeCmd(), profileDiffCmd(), profileExportCmd())
	root.AddCommand(cmd)
}

func profileShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show PROFILE",
		Short: "Print a profile: a summary, or the normalized JSON with --json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := profile.Load(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				b, err := p.Marshal()
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), export.Summary(p))
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the whole profile as JSON")
	return c
}

func profileMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "merge PROFILE PROFILE...",
		Short:   "Union several recordings into one profile",
		Example: "  brig profile merge -o web.json run1.json run2.json",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ps []*profile.Profile
			for _, a := range args {
				p, err := profile.Load(a)
				if err != nil {
					return err
				}
				ps = append(ps, p)
			}
			m, err := profile.Merge(ps...)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				b, err := m.Marshal()
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return m.Write(out)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the merged profile here (default: standard output)")
	return c
}

func profileDiffCmd() *cobra.Command {
	var asJSON, exitCode bool
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show the privileges NEW uses that OLD does not (+) and the reverse (-)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := profile.Load(args[0])
			if err != nil {
				return err
			}
			b, err := profile.Load(args[1])
			if err != nil {
				return err
			}
			d := profile.Compare(a, b)
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				err = enc.Encode(d)
			} else {
				_, err = fmt.Fprint(w, d.String())
			}
			if err != nil {
				return err
			}
			if exitCode && !d.Empty() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the difference as JSON")
	c.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 1 when the profiles differ")
	return c
}

func profileExportCmd() *cobra.Command {
	var (
		format, out, name, errno string
		noBase, allowMPTCP, cil  bool
	)
	c := &cobra.Command{
		Use:   "export PROFILE",
		Short: "Turn a profile into run flags, seccomp, Landlock, Kubernetes or SELinux policy",
		Long: `Formats:
  flags     brig run flags: --cap-drop ALL --cap-add ... (and --security-opt
            seccomp=FILE with -o for the seccomp file's location)
  seccomp   a Docker-format seccomp profile: the recorded syscalls plus the
            runtime's base syscalls, everything else fails with --errno
  landlock  --security-opt landlock=... rules: the recorded TCP ports, the
            whole file system read-only, the written directories writable
  k8s       a container securityContext: capabilities drop ALL/add, and a
            Localhost seccompProfile profiles/NAME.json
  selinux   a policy module for NAME_t (brig policy generate) with the used
            capabilities and the recorded ports (.te, or CIL with --cil)
  all       every format, written as files NAME.* into the directory -o`,
		Example: `  brig profile export web.json --format flags
  brig profile export web.json --format seccomp --errno EPERM > web-seccomp.json
  brig profile export web.json --format all -o ./policy --name web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := profile.Load(args[0])
			if err != nil {
				return err
			}
			so := export.SeccompOptions{Errno: errno, NoBase: noBase, BlockMPTCP: !allowMPTCP}
			stderr := cmd.ErrOrStderr()
			if format == "all" {
				if out == "" {
					return fmt.Errorf("--format all needs -o DIRECTORY")
				}
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				files, warn, err := export.WriteAll(p, out, export.Options{Name: name, Seccomp: so, CIL: cil})
				for _, w := range warn {
					fmt.Fprintln(stderr, "warning:", w)
				}
				for _, f := range files {
					fmt.Fprintln(cmd.OutOrStdout(), f)
				}
				return err
			}
			var data []byte
			switch format {
			case "flags":
				ll := export.Landlock(p)
				data = []byte(export.ShellQuote(export.Flags(p, "", &ll)) + "\n")
			case "seccomp":
				var warn []string
				data, warn, err = export.SeccompJSON(p, so)
				for _, w := range warn {
					fmt.Fprintln(stderr, "warning:", w)
				}
			case "landlock":
				data = []byte(export.Landlock(p).String() + "\n")
			case "k8s", "kubernetes":
				data, err = export.Kubernetes(p, "profiles/"+name+".json")
			case "selinux":
				data, err = export.SELinux(p, name, cil)
			default:
				return fmt.Errorf("unknown --format %q (flags, seccomp, landlock, k8s, selinux or all)", format)
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			return os.WriteFile(out, data, 0o644)
		},
	}
	f := c.Flags()
	f.StringVar(&format, "format", "flags", "flags, seccomp, landlock, k8s, selinux or all")
	f.StringVarP(&out, "output", "o", "", "output file (a directory for --format all); default standard output")
	f.StringVar(&name, "name", "brig_profile", "name of the SELinux module (domain NAME_t) and of the exported files")
	f.StringVar(&errno, "errno", "ENOSYS", "seccomp: errno for syscalls outside the profile, ENOSYS or EPERM")
	f.BoolVar(&noBase, "no-base-syscalls", false, "seccomp: leave out the syscalls the runtime needs to start the container")
	f.BoolVar(&allowMPTCP, "allow-mptcp", false, "seccomp: do not refuse MPTCP sockets (they get past Landlock's TCP rules)")
	f.BoolVar(&cil, "cil", false, "selinux: write CIL instead of a refpolicy .te")
	return c
}
