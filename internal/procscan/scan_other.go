//go:build !linux

package procscan

import "errors"

var errNoProc = errors.New("procscan: /proc capability sets exist only on Linux")

// Scan is Linux-only.
func Scan(o Options) ([]Proc, error) { return nil, errNoProc }

// Read is Linux-only.
func Read(root string, pid int, cgroup bool) (Proc, error) { return Proc{}, errNoProc }

// CgroupMounts is Linux-only.
func CgroupMounts() ([]Mount, error) { return nil, errNoProc }

// WalkCgroups is Linux-only; it visits nothing.
func WalkCgroups(mounts []Mount, match func(string) bool, fn func(string, []int)) {}
