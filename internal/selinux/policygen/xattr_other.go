//go:build !linux

package policygen

func xattrType(path string) (string, bool) { return "", false }
