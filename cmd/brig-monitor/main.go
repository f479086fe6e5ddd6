// Command brig-monitor watches one detached brig container (see
// internal/conmon). brig starts it; people never need to.
package main

import (
	"fmt"
	"os"

	"github.com/brigrt/brig/internal/conmon"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: brig-monitor CONFIG.json (started by brig)")
		os.Exit(2)
	}
	// fd 3 is the pipe back to the brig command that started us.
	os.Exit(conmon.Main(os.Args[1], os.NewFile(3, "report")))
}
