// Package monitor runs a foreground container inside the brig process:
// it creates the container (so the init is its child and it learns the
// exit status), copies the output to the terminal and the log, and records
// the exit. Detached containers get the same from a separate, smaller
// brig-monitor process (internal/conmon), whose log format and helpers
// this package shares.
package monitor

import (
	"io"
	"os"
)

// Config says what to monitor.
type Config struct {
	ID          string   `json:"id"`
	RuntimeRoot string   `json:"runtimeRoot"`
	Bundle      string   `json:"bundle"`
	LogPath     string   `json:"logPath"`
	ExitPath    string   `json:"exitPath"`
	TTY         bool     `json:"tty"`
	OnExit      []string `json:"onExit,omitempty"` // argv run after the exit is recorded (--rm)
	InitBinary  string   `json:"initBinary,omitempty"`
	// Label is the container's SELinux file label (conmon.OutputPipe).
	Label string `json:"label,omitempty"`
}

// Attach connects a foreground container to the user's terminal; nil
// fields mean the output only goes to the log.
type Attach struct {
	Stdin          *os.File
	Stdout, Stderr io.Writer
	// Term is the user's terminal with -t: put in raw mode and kept in
	// sync with the container's window size.
	Term *os.File
}
