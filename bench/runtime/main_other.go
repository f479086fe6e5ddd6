//go:build !linux

// Command runtime-bench compares OCI runtimes; it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "runtime-bench: Linux only")
	os.Exit(2)
}
