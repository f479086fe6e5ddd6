//go:build !linux

package runtime

import (
	"fmt"
	"os"
)

// IsInit reports whether this process was started as a container init:
// never off Linux, where no container is created.
func IsInit() bool { return false }

// Init is the container side of create and exec; off Linux there is none,
// so it only says so and exits non-zero.
func Init() {
	fmt.Fprintln(os.Stderr, "brig-runtime init:", ErrUnsupported)
	os.Exit(1)
}
