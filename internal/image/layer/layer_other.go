//go:build !linux

package layer

import (
	"errors"
	"io"
)

var errUnsupported = errors.New("unpacking image layers is only supported on Linux")

// Unpack needs openat2, which only Linux has.
func Unpack(r io.Reader, dir string, opt Options) (Stats, error) { return Stats{}, errUnsupported }

// Apply needs Linux whiteout semantics.
func Apply(src, dst string, privileged bool) error { return errUnsupported }
