package lint

import (
	"sort"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
)

// Linter runs the rules over normalised containers.
type Linter struct {
	// SELinuxEnabled reports whether the host enforces SELinux labels;
	// nil asks go-selinux. Tests inject a constant.
	SELinuxEnabled func() bool
	// Lookup finds another container by name, id or namespace path, for
	// "container:NAME" and OCI namespace-path sharing. Containers in the
	// same input (an inspect array) are searched first.
	Lookup func(ref string) (*Container, bool)
}

// Check runs every rule over cs and returns the findings, most severe
// first within each container.
func (l *Linter) Check(cs []Container) []Finding {
	enabled := l.SELinuxEnabled
	if enabled == nil {
		enabled = selinux.GetEnabled
	}
	e := &env{selinux: enabled(), lookup: func(ref string) (*Container, bool) {
		if c, ok := findIn(cs, ref); ok {
			return c, true
		}
		if l.Lookup != nil {
			return l.Lookup(ref)
		}
		return nil, false
	}}
	var out []Finding
	for i := range cs {
		c := &cs[i]
		for _, r := range Rules {
			if notFor(r, c.Kind) {
				continue
			}
			for _, h := range r.check(c, e) {
				s := r.Severity
				if h.sev != nil {
					s = *h.sev
				}
				out = append(out, Finding{Rule: r.ID, CIS: r.CIS, Severity: s, Container: c.Name,
					File: c.File, Line: c.Line, Reason: h.reason, Fix: r.Fix})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.Rule < b.Rule
	})
	return out
}

func notFor(r *Rule, kind string) bool {
	for _, k := range r.NotFor {
		if k == kind {
			return true
		}
	}
	return false
}

// findIn matches a name (with or without docker's leading "/"), a full id
// or an id prefix of at least 4 characters.
func findIn(cs []Container, ref string) (*Container, bool) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return nil, false
	}
	for i := range cs {
		if strings.TrimPrefix(cs[i].Name, "/") == ref || (cs[i].ID != "" && cs[i].ID == ref) {
			return &cs[i], true
		}
	}
	if len(ref) >= 4 {
		var hit *Container
		for i := range cs {
			if cs[i].ID != "" && strings.HasPrefix(cs[i].ID, ref) {
				if hit != nil {
					return nil, false // ambiguous
				}
				hit = &cs[i]
			}
		}
		return hit, hit != nil
	}
	return nil, false
}

// Worst is the highest severity among findings, and false when there are none.
func Worst(fs []Finding) (Severity, bool) {
	if len(fs) == 0 {
		return 0, false
	}
	w := fs[0].Severity
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w, true
}
