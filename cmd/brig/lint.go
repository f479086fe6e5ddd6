package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/brigrt/brig/internal/lint"
	"github.com/spf13/cobra"
)

// lintLinter backs "brig lint". Its Lookup (name, id or namespace path ->
// container) is nil here; wire it from the container store so
// "container:NAME" sharing with a running privileged brig container is found.
var lintLinter = &lint.Linter{}

func init() {
	var (
		format, failOn, kind string
		rules                bool
	)
	cmd := &cobra.Command{
		Use:   "lint [FILE...] [-- run [RUN FLAGS] IMAGE [CMD]]",
		Short: "Report risky container settings before they run",
		Long: `Judge a container's configuration: a brig or docker run command line (after
"--"), an OCI config.json, docker or podman inspect JSON, or Kubernetes YAML
(Pods and the pod templates of Deployments, StatefulSets, DaemonSets, Jobs
and CronJobs). FILE "-" reads standard input. Each finding has a rule id,
a severity, the reason and the fix; "brig lint --rules" lists the rules.
The exit status is 1 when a finding is at or above --fail-on.`,
		Example: `  brig lint -- run --privileged -v /:/host alpine
  brig lint config.json
  docker inspect web db | brig lint --format sarif -
  brig lint --fail-on medium deploy.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if rules {
				return lint.WriteRules(out, format)
			}
			var threshold lint.Severity
			noFail := failOn == "none"
			if !noFail {
				var err error
				if threshold, err = lint.ParseSeverity(failOn); err != nil {
					return fmt.Errorf("--fail-on: %w (or none)", err)
				}
			}
			files, runArgs := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				files, runArgs = args[:dash], args[dash:]
			}
			if len(files) == 0 && len(runArgs) == 0 {
				return errors.New("nothing to lint: give FILE arguments, or -- run FLAGS IMAGE")
			}
			var cs []lint.Container
			for _, f := range files {
				data, err := readInput(cmd.InOrStdin(), f)
				if err != nil {
					return err
				}
				got, err := lint.Load(f, data, kind)
				if err != nil {
					return err
				}
				cs = append(cs, got...)
			}
			if len(runArgs) > 0 {
				c, err := lint.FromRunArgs(runArgs)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			// Namespace paths (/proc/PID/ns/TYPE) in OCI configs are
			// resolved from the live process after the store had its say.
			l := *lintLinter
			store, ns := lintLinter.Lookup, lint.NamespaceLookup("")
			l.Lookup = func(ref string) (*lint.Container, bool) {
				if store != nil {
					if c, ok := store(ref); ok {
						return c, true
					}
				}
				return ns(ref)
			}
			fs := l.Check(cs)
			if err := lint.Write(out, format, fs); err != nil {
				return err
			}
			if worst, ok := lint.Worst(fs); ok && !noFail && worst >= threshold {
				return &exitError{code: 1, err: fmt.Errorf("findings at or above %s", threshold)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", lint.FormatText, "output format: text, json or sarif")
	f.StringVar(&failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical, or none)")
	f.StringVar(&kind, "input", "", "input kind: oci, docker-inspect, podman-inspect or kubernetes (default: detect)")
	f.BoolVar(&rules, "rules", false, "list the rules and exit")
	root.AddCommand(cmd)
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}
