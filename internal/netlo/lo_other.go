//go:build !linux

package netlo

import "errors"

// Up fails off Linux: network namespaces are a Linux feature.
func Up() error { return errors.New("netlo: only supported on Linux") }
