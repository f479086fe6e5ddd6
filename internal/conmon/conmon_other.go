//go:build !linux

package conmon

import (
	"errors"
	"os"
)

// ErrUnsupported is what monitoring returns off Linux: the monitor is a
// child subreaper (a Linux prctl) for containers only Linux runs.
var ErrUnsupported = errors.New("conmon: only supported on Linux")

// Main reports that no monitor runs off Linux and fails. It says so on
// stderr too: report is brig's pipe, absent when a person runs it.
func Main(path string, report *os.File) int {
	say(report, "error: "+ErrUnsupported.Error())
	say(os.Stderr, "brig-monitor: "+ErrUnsupported.Error()+"\n")
	return 1
}

// Listen fails off Linux.
func Listen(path string) (int, error) { return -1, ErrUnsupported }

// ListenTemp fails off Linux.
func ListenTemp() (fd int, path string, cleanup func(), err error) {
	return -1, "", nil, ErrUnsupported
}

// RecvPty fails off Linux.
func RecvPty(l int) PtyResult { return PtyResult{Err: ErrUnsupported} }
