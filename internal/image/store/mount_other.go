//go:build !linux

package store

import "errors"

var errNoMount = errors.New("container root filesystems need Linux")

// Mount needs Linux overlayfs or Linux whiteout semantics.
func (s *Store) Mount(img *Image, id string, opts ...MountOption) (string, error) {
	return "", errNoMount
}

// Unmount needs Linux.
func (s *Store) Unmount(id string) error { return errNoMount }

// Remove needs Linux.
func (s *Store) Remove(id string) error { return errNoMount }
