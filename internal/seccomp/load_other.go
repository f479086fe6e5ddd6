//go:build !linux

package seccomp

import "errors"

// Load is only available on Linux.
func Load(p *Program) error {
	return errors.New("seccomp: not supported on this platform")
}
