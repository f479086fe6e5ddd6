//go:build !linux

package monitor

import (
	"errors"
	"os"

	"github.com/brigrt/brig/internal/container"
)

// ErrUnsupported is what Create and Console return off Linux, where no
// container runs.
var ErrUnsupported = errors.New("monitor: containers are only supported on Linux")

// Monitor is one created container; off Linux Create never makes one.
type Monitor struct{}

// Create fails off Linux.
func Create(cfg Config, att Attach) (*Monitor, error) { return nil, ErrUnsupported }

// Pid is the container init's host pid: none off Linux.
func (m *Monitor) Pid() int { return 0 }

// Start fails off Linux.
func (m *Monitor) Start() error { return ErrUnsupported }

// Wait reports that no container ran.
func (m *Monitor) Wait() container.Exit {
	return container.Exit{Code: 255, Error: ErrUnsupported.Error()}
}

// Console fails off Linux.
func Console() (path string, recv func() (*os.File, error), closeFn func(), err error) {
	return "", nil, nil, ErrUnsupported
}

// Terminal needs a container pty, which only Console hands out, and
// Console fails off Linux: a call here is a bug, not a user error.
func Terminal(term *os.File, pty *os.File) func() {
	panic("monitor.Terminal: " + ErrUnsupported.Error())
}
