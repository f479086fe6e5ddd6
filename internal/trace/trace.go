// Package trace prints phase timings to stderr when BRIG_TRACE is set, to
// see where a container start spends its time without a profiler.
package trace

import (
	"os"
	"strconv"
	"time"
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
	os.Stderr.WriteString("trace " + strconv.Itoa(os.Getpid()) + " " + what + " " +
		strconv.FormatFloat(float64(now.Sub(start).Microseconds())/1000, 'f', 2, 64) + "ms (+" +
		strconv.FormatFloat(float64(now.Sub(last).Microseconds())/1000, 'f', 2, 64) + ") @" +
		strconv.FormatInt(now.UnixMicro(), 10) + "\n")
	last = now
}
