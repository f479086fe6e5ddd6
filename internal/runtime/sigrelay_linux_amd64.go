package runtime

// handlerAddrs returns the entry points of the relay's signal handler and
// its restorer (sigrelay_linux_amd64.s), which only the kernel calls.
func handlerAddrs() (handler, restorer uintptr)
