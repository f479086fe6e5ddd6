// Package tinyinit is the init brig runs as pid 1 with `--init`, as Docker
// runs tini: it starts the command, forwards signals to it and reaps every
// zombie, so a command that was never written to be pid 1 behaves.
package tinyinit

import "os"

// Path is where brig mounts the init inside a container.
const Path = "/dev/init"

// Is reports whether this process was started as the container's init.
func Is() bool { return len(os.Args) > 0 && os.Args[0] == Path }
