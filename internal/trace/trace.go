// Package trace prints phase timings to stderr when BRIG_TRACE is set, to
// see where a container start spends its time without a profiler.
package trace

import (
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/brigrt/brig/internal/rawio"
)

var (
	on    = os.Getenv("BRIG_TRACE") != ""
	start = time.Now()
	last  = start
)

// On reports whether tracing is enabled.
func On() bool { return on }

// Enable turns tracing on (the container init learns it from its parent).
func Enable() { on = true }

// Mark prints the time since the process started and since the last mark.
func Mark(what string) {
	if !on {
		return
	}
	now := time.Now()
	// Not os.Stderr, whose write to a closed pipe kills the program.
	_, _ = rawio.FD(2).Write([]byte("trace " + strconv.Itoa(os.Getpid()) + " " + what + " " +
		strconv.FormatFloat(float64(now.Sub(start).Microseconds())/1000, 'f', 2, 64) + "ms (+" +
		strconv.FormatFloat(float64(now.Sub(last).Microseconds())/1000, 'f', 2, 64) + ") @" +
		strconv.FormatInt(now.UnixMicro(), 10) + " cpu " + cpu() + "\n"))
	last = now
}

// cpu is the process's user+sys time so far, in ms.
func cpu() string {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	us := ru.Utime.Sec*1e6 + int64(ru.Utime.Usec) + ru.Stime.Sec*1e6 + int64(ru.Stime.Usec)
	return strconv.FormatFloat(float64(us)/1000, 'f', 2, 64) + " flt " + strconv.FormatInt(ru.Minflt, 10)
}
