//go:build !linux

package benchkit

import (
	"errors"
	"time"
)

var errLinux = errors.New("the benchmarks run Linux containers: Linux only")

// Result is one finished command.
type Result struct {
	Wall, User, Sys time.Duration
	MaxRSS          int64
	Out             string
	Err             error
}

// Cmd describes a command to run and time.
type Cmd struct {
	Args    []string
	Env     []string
	Timeout time.Duration
	Setsid  bool
}

// Run fails off Linux.
func Run(Cmd) Result { return Result{Err: errLinux} }

// Isolate fails off Linux.
func Isolate() error { return errLinux }
