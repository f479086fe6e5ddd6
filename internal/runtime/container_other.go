//go:build !linux

package runtime

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrUnsupported is what every container operation returns off Linux:
// containers are built from Linux namespaces, cgroups and seccomp. The
// pure parts of the package (bundle and spec checks, state files) still
// work, so tools that only inspect specs build everywhere.
var ErrUnsupported = errors.New("runtime: containers are only supported on Linux")

// Create fails off Linux.
func (rt *Runtime) Create(id string, o CreateOpts) (*State, error) { return nil, ErrUnsupported }

// Status derives the container's status from the kernel. Off Linux no
// container process can exist, so a container found on disk is stopped
// (or, if its create never finished, still creating: only delete applies).
func (rt *Runtime) Status(s *State) string {
	if s.Phase == Creating {
		return Creating
	}
	return Stopped
}

// Start fails off Linux.
func (rt *Runtime) Start(id string) error { return ErrUnsupported }

// ParseSignal fails off Linux: signal numbers differ between systems, and
// only Linux ones would mean anything to a container.
func ParseSignal(s string) (unix.Signal, error) { return 0, ErrUnsupported }

// Kill fails off Linux.
func (rt *Runtime) Kill(id string, sig unix.Signal, all bool) error { return ErrUnsupported }

// Delete fails off Linux.
func (rt *Runtime) Delete(id string, force bool) error { return ErrUnsupported }

// WaitExec returns at once off Linux: no container init runs to wait for.
func WaitExec(st *State) {}

// Pause fails off Linux.
func (rt *Runtime) Pause(id string) error { return ErrUnsupported }

// Resume fails off Linux.
func (rt *Runtime) Resume(id string) error { return ErrUnsupported }

// Pids fails off Linux.
func (rt *Runtime) Pids(id string) ([]int, error) { return nil, ErrUnsupported }

// OOMKills fails off Linux.
func (rt *Runtime) OOMKills(st *State) (uint64, error) { return 0, ErrUnsupported }

// Exec fails off Linux.
func (rt *Runtime) Exec(id string, o ExecOpts) (int, error) { return -1, ErrUnsupported }

// Run fails off Linux.
func (rt *Runtime) Run(id string, o CreateOpts, detach bool) (int, error) {
	return -1, ErrUnsupported
}

// StateJSON fails off Linux.
func (rt *Runtime) StateJSON(id string) ([]byte, error) { return nil, ErrUnsupported }

// OwnSignals does nothing off Linux.
func OwnSignals() {}

// Update fails off Linux.
func (rt *Runtime) Update(id string, r *specs.LinuxResources) error { return ErrUnsupported }
