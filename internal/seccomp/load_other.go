//go:build !linux

package seccomp

import "errors"

// Load is only available on Linux.
func Load(p *Program) (int, error) {
	return -1, errors.New("seccomp: not supported on this platform")
}
