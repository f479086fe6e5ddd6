package landlock

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ipprotoMPTCP is IPPROTO_MPTCP (linux/in.h).
const ipprotoMPTCP = 262

// MPTCPRule is the seccomp rule the spec builder appends whenever Landlock
// network rules are active: socket(*, *, IPPROTO_MPTCP) fails with EACCES.
// Landlock's TCP rules do not cover MPTCP sockets on this kernel, so
// without it a program (Go >= 1.24 listens with MPTCP by default) gets past
// them. EACCES is what Landlock itself returns, and programs that try MPTCP
// first (Go's net package, mptcpize) fall back to plain TCP on any error,
// which Landlock then governs.
func MPTCPRule() specs.LinuxSyscall {
	errno := uint(13) // EACCES
	return specs.LinuxSyscall{
		Names:    []string{"socket"},
		Action:   specs.ActErrno,
		ErrnoRet: &errno,
		Args: []specs.LinuxSeccompArg{{
			Index: 2,
			Value: ipprotoMPTCP,
			Op:    specs.OpEqualTo,
		}},
	}
}
