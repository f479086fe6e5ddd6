//go:build !linux

// Command caps-bench compares "brig caps -a" with pscap; it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "caps-bench: Linux only")
	os.Exit(2)
}
