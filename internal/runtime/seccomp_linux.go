package runtime

import (
	"errors"
	"fmt"

	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// seccompFilter is a compiled filter ready to be loaded on this thread.
type seccompFilter interface{ load() error }

type program struct{ p *seccomp.Program }

func (p program) load() error {
	if err := seccomp.Load(p.p); err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
	}
	return nil
}

// compileSeccomp turns the spec's seccomp section into BPF. It runs before
// any credential change, so a bad profile fails without side effects.
func compileSeccomp(sc *specs.LinuxSeccomp) (seccompFilter, error) {
	p, err := seccomp.Compile(sc)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	return program{p}, nil
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
