//go:build !linux

package landlock

import "fmt"

// Apply fails: Landlock is a Linux LSM.
func Apply(r Rules) (Applied, error) {
	if r.Empty() {
		return Applied{}, nil
	}
	return Applied{}, fmt.Errorf("landlock is Linux-only: %w", ErrUnsupported)
}
