package runtime

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompFilter is the spec's filter, compiled by the runtime, for
// finalize to load on this thread; nil when there is none left to load.
// A filter with NOTIFY rules is loaded here instead, while the runtime
// still listens on conn (see handOverListener).
func seccompFilter(s *initSpec, conn syncConn) (*seccomp.Program, error) {
	if len(s.Seccomp) == 0 {
		return nil, nil
	}
	p, err := seccomp.FromBytes(s.Seccomp, s.SeccompFlags)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	if p.Notifies() {
		return nil, handOverListener(conn, p)
	}
	return p, nil
}

func loadSeccomp(p *seccomp.Program) error {
	if _, err := seccomp.Load(p); err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
	}
	return nil
}

// handOverListener loads a filter with NOTIFY rules while the runtime
// still listens on the sync socket, and hands it the listener fd for the
// seccomp agent (see sendSeccompListener). As in runc, this happens
// before the init is ready rather than just before execve: the agent
// must hold the fd before anything makes a notified call, and the rest of
// the init runs under the filter.
func handOverListener(conn syncConn, p *seccomp.Program) error {
	fd, err := seccomp.Load(p)
	if err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
	}
	err = conn.send(syncMsg{Type: msgSeccomp}, fd)
	unix.Close(fd)
	if err != nil {
		return err
	}
	_, _, err = conn.expect(msgSeccompOK)
	return err
}

// sendSeccompListener hands a container's seccomp listener to the agent
// at path the way runc does (see sendFd): the ContainerProcessState as
// JSON with the fd attached (named "seccompFd"); pid is the filtered
// process's, state the container's.
func sendSeccompListener(path, metadata string, pid int, state specs.State, fd int) error {
	msg, err := json.Marshal(specs.ContainerProcessState{
		Version: specs.Version, Fds: []string{specs.SeccompFdName},
		Pid: pid, Metadata: metadata, State: state,
	})
	if err != nil {
		return err
	}
	if err := sendFd(path, msg, fd); err != nil {
		return fmt.Errorf("seccomp agent at listenerPath: %w", err)
	}
	return nil
}

// landlockFromAnnotations applies brig's Landlock rules (annotation
// run.brig.landlock). The runtime spec has no Landlock section yet, so
// brig carries it as an annotation. A kernel without Landlock is an error:
// running unconfined while the user asked for confinement is never silent.
func landlockFromAnnotations(a map[string]string) error {
	v := a[landlock.Annotation]
	if v == "" {
		return nil
	}
	rules, err := landlock.FromAnnotation(v)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	applied, err := landlock.Apply(rules)
	if err != nil {
		if errors.Is(err, landlock.ErrUnsupported) {
			return fmt.Errorf("landlock rules requested but the kernel cannot apply them: %w", err)
		}
		return fmt.Errorf("landlock: %w", err)
	}
	for _, w := range applied.Warnings {
		warnf("landlock: %s", w)
	}
	return nil
}
