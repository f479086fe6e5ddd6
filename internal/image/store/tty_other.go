//go:build !linux

package store

func isTerminal(uintptr) bool { return false }
