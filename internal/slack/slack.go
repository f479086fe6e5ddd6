// Package slack calms the Go runtime's monitor thread (sysmon) in
// brig-runtime's short-lived processes: runtime commands and the
// container init.
//
// For its first millisecond after a process starts (and after each
// busy spell), sysmon wakes every 20 microseconds, and only then backs
// off. A runtime command or a container init lives a few milliseconds,
// so its sysmon wakes fifty to seventy times; on this project's hosts (a
// virtual machine) each wake costs 8 to 9 microseconds of CPU, close to
// half a millisecond per process.
//
// Stretch raises sysmon's timer slack: the kernel may then let each of
// its sleeps run that much longer, and it wakes about once a millisecond
// instead. sysmon takes a processor back from a goroutine blocked in a
// system call and preempts one that runs too long; in these processes
// both can wait that long. brig-runtime imports package early, which
// calls Stretch before most package inits run.
//
// A process inherits the timer slack of the thread that forked it, and
// threads the runtime starts from sysmon inherit sysmon's. So nothing
// may reach a container with it: the init sets the runtime's own slack
// (Original) before it execs the container's process, and brig's tiny
// init forks its child from its main thread.
package slack

// Slack is the timer slack given to sysmon.
const Slack = 1_000_000 // ns
