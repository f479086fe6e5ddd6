// Package record watches a container with eBPF and turns what its processes
// did into a profile.Profile: capability checks (granted or denied, with
// the syscall that made them), syscalls, bind/connect endpoints and files
// opened for writing.
//
// # Which processes
//
// Events count for tasks in the container's cgroup v2 directory or below it
// (bpf_get_current_ancestor_cgroup_id). On this hybrid-cgroup host that is a
// directory under /sys/fs/cgroup/unified, e.g. unified/brig/<id>; the
// runtime creates it and clones the container's init into it
// (SysProcAttr.CgroupFD). A cgroup id is a 64-bit inode that is never
// reused while the directory exists, unlike pid-namespace inodes (a
// foreign runc init matched one in testing) or pids; and it covers every
// descendant without tracking forks.
//
// # When
//
// Recording begins at the first execve in the cgroup, so the runtime's
// setup is excluded. Options.SkipExec names the runtime binary: its execs
// (the runtime re-executing itself as the container's init) do not begin
// the recording; the init's execve of the container's command does.
// Options.Immediate begins at Start instead.
//
// # Hooks
//
// Only tracepoints load on this kernel (fentry, fexit, BPF-LSM and kprobes
// do not): tp_btf/cap_capable, tp_btf/sys_exit, tp_btf/sched_process_exec,
// tp_btf/sched_process_exit and tp_btf/signal_deliver. There is no
// sys_enter program: an attached syscall tracepoint sends every syscall of
// every task through the kernel's slow path, which costs more than the
// programs themselves here, so one is used instead of two. The syscall
// arguments are still in the saved registers at exit. Syscalls that never
// exit with their number are inferred: exit and exit_group when the task
// exits, rt_sigreturn when a signal is delivered to a handler.
//
// # Limits
//
//   - bind/connect addresses are read from user memory at syscall exit:
//     attempts are recorded, including failed ones; io_uring and
//     sendto/sendmsg with an address (unconnected UDP) are not seen.
//   - Files: open/openat/openat2/creat that return a writable fd. Paths are
//     as the container sees them (walked up to the task's root), at most 16
//     components of at most 127 bytes; longer ones are dropped and counted
//     in Stats. Files on tmpfs are reported as their tmpfs mount point.
//     mkdir, unlink, rename, truncate(2) by path and writes through
//     inherited fds are not seen.
//   - Capability checks from the kernel's non-auditing helpers
//     (ns_capable_noaudit, has_capability_noaudit, the CAP_SYS_ADMIN probe
//     of __vm_enough_memory, ...) are dropped: the tracepoint has no opts
//     argument, so the program compares its kernel stack with those
//     functions' addresses from /proc/kallsyms.
//   - The syscall table is x86_64's: the recorder builds on linux/amd64.
package record

import (
	"errors"
)

// Options say what to record.
type Options struct {
	// Cgroup is the container's cgroup v2 directory, e.g.
	// /sys/fs/cgroup/unified/brig/<id>. Required.
	Cgroup string
	// SkipExec is the path of a binary whose execs do not begin the
	// recording (the runtime, when it re-executes itself as init).
	SkipExec string
	// Immediate begins recording at Start rather than at the first execve.
	Immediate bool
	// Command is copied into the profile for the reader.
	Command []string
}

// Stats are what the recorder could not record in full.
type Stats struct {
	// NoAudit counts capability checks dropped as non-auditing probes.
	NoAudit uint64
	// Lost counts events dropped because the ring buffer was full.
	Lost uint64
	// Truncated counts file paths too deep or too long to walk.
	Truncated uint64
}

// ErrUnsupported is returned where the recorder cannot run at all.
var ErrUnsupported = errors.New("record: eBPF recording is only supported on linux/amd64")
