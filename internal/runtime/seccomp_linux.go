package runtime

import (
	"errors"
	"fmt"

	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/seccomp"
)

// seccompFilter is the spec's filter, compiled by the runtime and ready
// to be loaded on this thread; nil when the spec has none.
func seccompFilter(s *initSpec) (*seccomp.Program, error) {
	if len(s.Seccomp) == 0 {
		return nil, nil
	}
	p, err := seccomp.FromBytes(s.Seccomp, s.SeccompFlags)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	return p, nil
}

func loadSeccomp(p *seccomp.Program) error {
	if err := seccomp.Load(p); err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
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
