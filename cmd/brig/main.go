// Command brig runs least-privilege containers for people: docker-style
// lifecycle commands plus tools to see, judge and tighten privileges.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// root is the top command. Each subsystem adds its commands from its own file
// (caps.go, lint.go, policy.go, ...) in an init function, so the files stay
// independent of each other.
var root = &cobra.Command{
	Use:           "brig",
	Short:         "Least-privilege Linux containers",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root.Version = version
	if err := root.Execute(); err != nil {
		// An exit status alone (a container's, or lint's verdict) has
		// already been explained by what the command printed.
		if e, ok := err.(*exitError); !ok || e.err != nil {
			fmt.Fprintln(os.Stderr, "brig:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status (e.g. lint findings, a container's
// own exit code) through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 125 // docker's "the error is with brig itself"
}
