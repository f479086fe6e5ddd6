//go:build !linux

package slack

// Original is zero off Linux: there is no timer slack to keep.
var Original uint64

// Stretch does nothing off Linux.
func Stretch() {}

// Restore does nothing off Linux.
func Restore(v uint64) error { return nil }
