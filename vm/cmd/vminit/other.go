//go:build !linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

var errLinux = errors.New("vminit runs on Linux only")

func extractVmlinux(in, out string) error { return errLinux }

func dumpLabels(dir string, w io.Writer) error { return errLinux }

func guest(bool) {
	fmt.Fprintln(os.Stderr, errLinux)
	os.Exit(1)
}
