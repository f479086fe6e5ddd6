//go:build !linux

package cgroup

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnsupported is what every operation returns off Linux: cgroups are
// a Linux kernel feature, and this package only reads cgroupfs.
var ErrUnsupported = errors.New("cgroup: only supported on Linux")

// Unified reports whether the host runs cgroup v2 only: never, off Linux.
func Unified() bool { return false }

// New fails off Linux.
func New(path string) (*Manager, error) { return nil, ErrUnsupported }

// NewCached fails off Linux.
func NewCached(path, cache string) (*Manager, error) { return nil, ErrUnsupported }

// Apply fails off Linux.
func (m *Manager) Apply(pid int) error { return ErrUnsupported }

// Create fails off Linux.
func (m *Manager) Create() error { return ErrUnsupported }

// CreateUnified fails off Linux.
func (m *Manager) CreateUnified() error { return ErrUnsupported }

// CreateV1 fails off Linux.
func (m *Manager) CreateV1() error { return ErrUnsupported }

// Join fails off Linux.
func (m *Manager) Join(pid int) error { return ErrUnsupported }

// OpenV2 fails off Linux.
func (m *Manager) OpenV2() (*os.File, error) { return nil, ErrUnsupported }

// JoinSelf fails off Linux.
func (m *Manager) JoinSelf() error { return ErrUnsupported }

// Pids fails off Linux.
func (m *Manager) Pids() ([]int, error) { return nil, ErrUnsupported }

// Freeze fails off Linux.
func (m *Manager) Freeze(freeze bool) error { return ErrUnsupported }

// Frozen fails off Linux.
func (m *Manager) Frozen() (bool, error) { return false, ErrUnsupported }

// OOMKills fails off Linux.
func (m *Manager) OOMKills() (uint64, error) { return 0, ErrUnsupported }

// Destroy fails off Linux.
func (m *Manager) Destroy() error { return ErrUnsupported }

// MemoryUsage fails off Linux.
func (m *Manager) MemoryUsage() (int64, error) { return 0, ErrUnsupported }

// TryDestroy fails off Linux.
func (m *Manager) TryDestroy() error { return ErrUnsupported }

// Set fails off Linux.
func (m *Manager) Set(r *specs.LinuxResources) error { return ErrUnsupported }
