//go:build !linux

package profile

// Default returns nil: moby ships its default profile for Linux only.
func Default() *Profile { return nil }
