//go:build !linux

package spec

import (
	"errors"

	"github.com/brigrt/brig/internal/caps"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var errLinux = errors.New("containers need Linux")

// HostBounding needs Linux.
func HostBounding() (caps.Set, error) { return 0, errLinux }

// HostDevices needs Linux.
func HostDevices() ([]specs.LinuxDevice, error) { return nil, errLinux }

// DeviceInfo needs Linux.
func DeviceInfo(string) ([]specs.LinuxDevice, error) { return nil, errLinux }

// HostEnv needs Linux.
func HostEnv() (Env, error) { return Env{}, errLinux }
