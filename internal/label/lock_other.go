//go:build !linux

package label

import "errors"

// lock is Linux-only: brig containers only run there.
func lock(string) (func(), error) {
	return nil, errors.New("MCS reservations need Linux (flock)")
}
