//go:build !linux

// Command brig-bench measures brig end to end; it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "brig-bench: Linux only")
	os.Exit(2)
}
