package runtime

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Runtime manages the containers whose state lives under Store.Root.
type Runtime struct {
	Store Store
	// Warn receives non-fatal messages (e.g. a label ignored on a host
	// without SELinux); nil discards them.
	Warn func(string)
	// InitBinary is the program re-executed as the container's init: a
	// brig-runtime binary. Empty means this program, which must then call
	// Init when IsInit reports true (brig-runtime does).
	InitBinary string
}

// CreateOpts are create's command-line options.
type CreateOpts struct {
	Bundle        string
	PidFile       string
	ConsoleSocket string
	PreserveFds   int
	NoPivot       bool
	NoNewKeyring  bool
	// Stdio for the container; nil entries mean this process's own.
	Stdin, Stdout, Stderr *os.File
}

// ExecOpts are exec's options.
type ExecOpts struct {
	Process               *specs.Process
	Detach                bool
	PidFile               string
	ConsoleSocket         string
	PreserveFds           int
	Stdin, Stdout, Stderr *os.File
}

func (rt *Runtime) warn(format string, a ...any) {
	if rt.Warn != nil {
		rt.Warn(fmt.Sprintf(format, a...))
	}
}
