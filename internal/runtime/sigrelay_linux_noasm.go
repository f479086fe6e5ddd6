//go:build linux && !amd64

package runtime

// handlerAddrs has no handler to offer here: the relay registers with
// os/signal instead.
func handlerAddrs() (handler, restorer uintptr) { return 0, 0 }
