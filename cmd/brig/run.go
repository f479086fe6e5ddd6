package main

// Container lifecycle commands: run, create, start, ps, stop, kill, rm,
// wait, pause, unpause, top, logs, exec, inspect. The logic lives in
// internal/engine; this file wires flags and prints results.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/engine"
	"github.com/brigrt/brig/internal/monitor"
	"github.com/brigrt/brig/internal/profile"
	"github.com/brigrt/brig/internal/profile/export"
	"github.com/brigrt/brig/internal/record"
	"github.com/brigrt/brig/internal/runtime"
	"github.com/brigrt/brig/internal/spec"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func init() {
	root.PersistentFlags().StringVar(&rootDir, "root", "", "state directory (default $BRIG_ROOT or /var/lib/brig)")
	root.AddCommand(runCmd("run"), runCmd("create"), startCmd(), psCmd(), stopCmd(), killCmd(), rmCmd(),
		waitCmd(), pauseCmd(true), pauseCmd(false), topCmd(), logsCmd(), execCmd(), inspectCmd(), updateCmd())
	capsViewer.Names = func(id string) (string, bool) {
		e, err := openEngine()
		if err != nil {
			return "", false
		}
		r, err := e.Containers.Load(id)
		if err != nil {
			return "", false
		}
		return r.Name, true
	}
	capsViewer.Resolve = func(ref string) (string, error) {
		e, err := openEngine()
		if err != nil {
			return "", err
		}
		r, err := e.Containers.Get(ref)
		if err != nil {
			return "", err
		}
		return r.ID, nil
	}
}

func openEngine() (*engine.Engine, error) {
	root := rootDir
	if root == "" {
		root = os.Getenv("BRIG_ROOT")
	}
	return engine.Open(root)
}

// lookup opens the engine and finds one container by name or id prefix.
func lookup(ref string) (*engine.Engine, *container.Record, error) {
	e, err := openEngine()
	if err != nil {
		return nil, nil, err
	}
	r, err := e.Containers.Get(ref)
	return e, r, err
}

func warn(ws []string) {
	for _, w := range ws {
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
}

func runCmd(name string) *cobra.Command {
	o := &spec.Options{}
	var recordPath, profilePath string
	c := &cobra.Command{
		Use:   name + " [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: map[string]string{"run": "Run a command in a new container", "create": "Create a new container"}[name],
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image, o.Command = args[0], args[1:]
			e, err := openEngine()
			if err != nil {
				return err
			}
			if recordPath != "" && (o.Detach || name == "create") {
				return errors.New("--record follows the container to its end: run it in the foreground (without -d)")
			}
			if recordPath != "" {
				// Most of loading the recorder is decoding the kernel's
				// types: done while the container is prepared.
				record.Warm()
			}
			if profilePath != "" {
				// The profile's seccomp file is read while the spec is
				// built; it is not needed afterwards.
				tmp, err := os.MkdirTemp("", "brig-profile-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				w, err := engine.ApplyProfile(o, profilePath, tmp)
				warn(w)
				if err != nil {
					return fmt.Errorf("--profile %s: %w", profilePath, err)
				}
			}
			rec, warnings, err := e.Create(o)
			warn(warnings)
			if err != nil {
				return err
			}
			if name == "create" {
				fmt.Println(rec.ID)
				return nil
			}
			if o.Detach {
				if err := e.StartDetached(rec); err != nil {
					e.Remove(rec, true)
					return err
				}
				fmt.Println(rec.ID)
				return nil
			}
			att := monitor.Attach{Stdout: os.Stdout, Stderr: os.Stderr}
			if o.Interactive {
				att.Stdin = os.Stdin
			}
			if o.TTY {
				att.Stdin = os.Stdin
				if _, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), tcgets); err == nil {
					att.Term = os.Stdin
				}
			}
			var exit container.Exit
			if recordPath != "" {
				var p *profile.Profile
				exit, p, err = e.RecordAttached(rec, att, recordPath)
				if p != nil {
					fmt.Fprintf(os.Stderr, "brig: recorded %s: %s\n", recordPath, export.Summary(p))
				}
			} else {
				exit, err = e.RunAttached(rec, att)
			}
			if o.Rm {
				e.Remove(rec, true)
			}
			if err != nil {
				if !o.Rm {
					e.Remove(rec, true) // it never ran: leave nothing behind
				}
				return err
			}
			if exit.Code != 0 {
				return &exitError{code: exit.Code}
			}
			return nil
		},
	}
	fs := c.Flags()
	fs.SetInterspersed(false)
	// docker's -h is --hostname here, so help has no shorthand.
	fs.Bool("help", false, "help for "+name)
	spec.AddRunFlags(fs, o)
	fs.StringVar(&recordPath, "record", "", "record what the container uses (capabilities, syscalls, ports, files) into this profile")
	fs.StringVar(&profilePath, "profile", "", "enforce a recorded profile: exactly its capabilities, seccomp allow-list and Landlock rules")
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return spec.FlagError(fs, err) })
	return c
}

func startCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER...",
		Short: "Start created or stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(args, func(e *engine.Engine, r *container.Record) error {
				if err := e.StartDetached(r); err != nil {
					return err
				}
				fmt.Println(r.Name)
				return nil
			})
		},
	}
}

// each runs fn for every named container, reporting all failures.
func each(refs []string, fn func(*engine.Engine, *container.Record) error) error {
	var errs []string
	for _, ref := range refs {
		e, r, err := lookup(ref)
		if err == nil {
			err = fn(e, r)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ref, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

type psRow struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Image   string    `json:"image"`
	Command string    `json:"command"`
	Created time.Time `json:"created"`
	Status  string    `json:"status"`
	Pid     int       `json:"pid"`
	Exit    *int      `json:"exitCode,omitempty"`
}

func psCmd() *cobra.Command {
	var all, quiet bool
	var format string
	c := &cobra.Command{
		Use:   "ps",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEngine()
			if err != nil {
				return err
			}
			recs, err := e.Containers.List()
			if err != nil {
				return err
			}
			rows := []psRow{}
			for _, r := range recs {
				status, pid := e.Status(r)
				if !all && status != runtime.Running && status != runtime.Paused {
					continue
				}
				row := psRow{r.ID, r.Name, r.Image, strings.Join(r.Command, " "), r.Created, status, pid, nil}
				if x := e.Containers.LoadExit(r.ID); x != nil && status == engine.Exited {
					code := x.Code
					row.Exit = &code
				}
				rows = append(rows, row)
			}
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Println(r.ID[:12])
				}
			case format == "json":
				return json.NewEncoder(os.Stdout).Encode(rows)
			case format == "" || format == "table":
				w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tNAMES")
				for _, r := range rows {
					st := r.Status
					if r.Exit != nil {
						st = fmt.Sprintf("Exited (%d)", *r.Exit)
					}
					cmdline := r.Command
					if len(cmdline) > 20 {
						cmdline = cmdline[:19] + "…"
					}
					fmt.Fprintf(w, "%s\t%s\t%q\t%s ago\t%s\t%s\n", r.ID[:12], r.Image, cmdline, time.Since(r.Created).Round(time.Second), st, r.Name)
				}
				return w.Flush()
			default:
				return fmt.Errorf("unknown --format %q: use table or json", format)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "show all containers, not only running ones")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print ids only")
	c.Flags().StringVar(&format, "format", "", "table or json")
	return c
}

func stopCmd() *cobra.Command {
	var timeout int
	c := &cobra.Command{
		Use:   "stop [-t SECONDS] CONTAINER...",
		Short: "Stop containers: SIGTERM, then SIGKILL after the timeout",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return fmt.Errorf("--time must not be negative")
			}
			return each(args, func(e *engine.Engine, r *container.Record) error {
				if err := e.Stop(r, time.Duration(timeout)*time.Second, 0); err != nil {
					return err
				}
				fmt.Println(r.Name)
				return nil
			})
		},
	}
	c.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return c
}

func killCmd() *cobra.Command {
	var sig string
	c := &cobra.Command{
		Use:   "kill [-s SIGNAL] CONTAINER...",
		Short: "Send a signal to containers (default SIGKILL)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := runtime.ParseSignal(sig)
			if err != nil {
				return err
			}
			return each(args, func(e *engine.Engine, r *container.Record) error {
				if err := e.Kill(r, s); err != nil {
					return err
				}
				fmt.Println(r.Name)
				return nil
			})
		},
	}
	c.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal name or number")
	return c
}

func rmCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rm [-f] CONTAINER...",
		Short: "Remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(args, func(e *engine.Engine, r *container.Record) error {
				if err := e.Remove(r, force); err != nil {
					return err
				}
				fmt.Println(r.Name)
				return nil
			})
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return c
}

func waitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER...",
		Short: "Wait for containers to exit and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(args, func(e *engine.Engine, r *container.Record) error {
				fmt.Println(e.Wait(r))
				return nil
			})
		},
	}
}

func pauseCmd(pause bool) *cobra.Command {
	name, short := "pause", "Freeze every process of containers"
	if !pause {
		name, short = "unpause", "Thaw paused containers"
	}
	return &cobra.Command{
		Use:   name + " CONTAINER...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(args, func(e *engine.Engine, r *container.Record) error {
				var err error
				if pause {
					err = e.Runtime.Pause(r.ID)
				} else {
					err = e.Runtime.Resume(r.ID)
				}
				if errors.Is(err, runtime.ErrNotExist) {
					err = fmt.Errorf("container %s is not running", r.Name)
				}
				if err == nil {
					fmt.Println(r.Name)
				}
				return err
			})
		},
	}
}

func updateCmd() *cobra.Command {
	var o engine.UpdateOptions
	c := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER...",
		Short: "Change the resource limits of containers, running or not",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(args, func(e *engine.Engine, r *container.Record) error {
				if err := e.Update(r, o); err != nil {
					return err
				}
				fmt.Println(r.Name)
				return nil
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Memory, "memory", "m", "", "memory limit (e.g. 512m, 2g)")
	f.StringVar(&o.MemorySwap, "memory-swap", "", "memory plus swap limit; -1 for unlimited swap")
	f.StringVar(&o.MemoryReservation, "memory-reservation", "", "memory soft limit")
	f.StringVar(&o.CPUs, "cpus", "", "number of CPUs (e.g. 1.5)")
	f.Uint64VarP(&o.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.StringVar(&o.CpusetCpus, "cpuset-cpus", "", "CPUs to run on (e.g. 0-1)")
	f.StringVar(&o.CpusetMems, "cpuset-mems", "", "memory nodes to use (e.g. 0)")
	f.Int64Var(&o.PidsLimit, "pids-limit", 0, "maximum number of processes (-1: unlimited)")
	f.Uint16Var(&o.BlkioWeight, "blkio-weight", 0, "block I/O weight, 10 to 1000")
	return c
}

func topCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER",
		Short: "Show the processes of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, r, err := lookup(args[0])
			if err != nil {
				return err
			}
			rows, err := e.Top(r)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(w, "PID\tUID\tTIME\tCOMMAND")
			for _, row := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3])
			}
			return w.Flush()
		},
	}
}

func logsCmd() *cobra.Command {
	var follow, timestamps bool
	c := &cobra.Command{
		Use:   "logs [-f] CONTAINER",
		Short: "Print a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, r, err := lookup(args[0])
			if err != nil {
				return err
			}
			return engine.Logs(r.LogPath, os.Stdout, os.Stderr, timestamps, follow, func() bool {
				s, _ := e.Status(r)
				return s == runtime.Running || s == runtime.Paused || s == runtime.Created
			})
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until the container exits")
	c.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "prefix each line with its time")
	return c
}

func execCmd() *cobra.Command {
	var o engine.ExecOptions
	c := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, r, err := lookup(args[0])
			if err != nil {
				return err
			}
			o.Args = args[1:]
			code, err := e.Exec(r, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	fs := c.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open")
	fs.BoolVarP(&o.TTY, "tty", "t", false, "allocate a pseudo-terminal")
	fs.BoolVarP(&o.Detach, "detach", "d", false, "run in the background")
	fs.StringVarP(&o.User, "user", "u", "", "uid[:gid] to run as")
	fs.StringVarP(&o.Workdir, "workdir", "w", "", "working directory")
	fs.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable")
	fs.BoolVar(&o.Privileged, "privileged", false, "give the process the container's full bounding set")
	return c
}

func inspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect CONTAINER...",
		Short: "Show a container's configuration and effective security, decoded, as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []*engine.Inspection
			err := each(args, func(e *engine.Engine, r *container.Record) error {
				in, err := e.Inspect(r)
				if err == nil {
					out = append(out, in)
				}
				return err
			})
			if len(out) > 0 {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if e := enc.Encode(out); e != nil {
					return e
				}
			}
			return err
		},
	}
}
