//go:build !linux

// Command record-bench measures what recording costs; it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "record-bench: Linux only")
	os.Exit(2)
}
