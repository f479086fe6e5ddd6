//go:build !linux

package tinyinit

import (
	"fmt"
	"os"
)

// Main fails off Linux: the init only runs as pid 1 of a container.
func Main() {
	fmt.Fprintln(os.Stderr, "init: only supported on Linux")
	os.Exit(2)
}
