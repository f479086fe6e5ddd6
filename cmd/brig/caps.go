package main

import (
	"fmt"

	"github.com/brigrt/brig/internal/capview"
	"github.com/spf13/cobra"
)

// capsViewer backs "brig caps". Its Names (id -> name) and Resolve
// (name or id -> id) fields are left nil here; wire them from the
// container store so brig containers show by name and resolve by name.
var capsViewer = &capview.Viewer{}

func init() {
	var (
		all        bool
		format     string
		diff, tree bool
		decode     string
	)
	cmd := &cobra.Command{
		Use:   "caps [CONTAINER]",
		Short: "Show the capabilities of running processes or of one container",
		Long: `Without CONTAINER, list every process that has capabilities, as pscap does,
with the container each one belongs to (--format pscap prints exactly what
pscap 0.8.3 prints). With CONTAINER (a brig name or id, or the id or id
prefix of a podman, docker, containerd or Kubernetes container), list all of
its processes with the effective, permitted, inheritable, bounding and
ambient sets decoded.`,
		Example: `  brig caps -a
  brig caps --format pscap
  brig caps web --diff
  brig caps web --tree
  brig caps --decode a80425fb`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if cmd.Flags().Changed("decode") {
				if len(args) > 0 {
					return fmt.Errorf("--decode takes no CONTAINER")
				}
				s, err := capview.Decode(decode)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(out, s)
				return err
			}
			if len(args) == 0 {
				if diff || tree {
					return fmt.Errorf("--diff and --tree need a CONTAINER")
				}
				return capsViewer.List(out, all, format)
			}
			if format == capview.FormatPscap {
				return fmt.Errorf("--format pscap lists all processes; use table or json with a CONTAINER")
			}
			return capsViewer.Container(out, args[0], capview.ContainerOptions{Diff: diff, Tree: tree, Format: format})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "also list pid 1 (pscap -a)")
	f.StringVar(&format, "format", capview.FormatTable, "output format: table, pscap or json")
	f.BoolVar(&diff, "diff", false, "compare each process's sets with Docker's default 14 capabilities")
	f.BoolVar(&tree, "tree", false, "print the container's process tree")
	f.StringVar(&decode, "decode", "", "decode a capability mask such as a80425fb, like capsh --decode")
	root.AddCommand(cmd)
}
