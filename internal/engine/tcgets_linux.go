package engine

import "golang.org/x/sys/unix"

// tcgets is the ioctl that reads a terminal's settings; it succeeds only
// on a terminal, which is how stdin is tested for one.
const tcgets = unix.TCGETS
