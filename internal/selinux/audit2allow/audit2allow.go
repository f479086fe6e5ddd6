// Package audit2allow turns AVC denials into SELinux allow rules, as
// policycoreutils' audit2allow does, but without needing the policy loaded:
// it keeps every denial (audit2allow silently drops those whose types its
// loaded policy lacks, which are exactly the new container types being
// developed), never prints a constraint as live policy, and handles 100,000
// denials in well under a second.
package audit2allow

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/selinux/avc"
	"github.com/brigrt/brig/internal/selinux/mls"
)

// Filter selects the records that become rules. Zero fields select all.
type Filter struct {
	// Type matches the source or target type from its start, like
	// audit2allow -t (a Python re.match).
	Type *regexp.Regexp
	// Level keeps only records whose source level is this one, e.g. a
	// container's "s0:c1,c2": the MCS pair identifies one container.
	Level string
	// Since and Until bound the audit timestamps (inclusive).
	Since, Until time.Time
}

// TypeFilter compiles an audit2allow -t pattern.
func TypeFilter(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?:" + pattern + ")")
	if err != nil {
		return nil, fmt.Errorf("type filter %q: %w", pattern, err)
	}
	return re, nil
}

// Rule is one allow rule: perms on Target:Class for Source.
type Rule struct {
	Source, Target, Class string // Target is "self" when it equals Source
	Perms                 []string
	Ioctl                 []uint16 // ioctl commands seen, sorted
	// MCS is set when every record behind the rule had a source level
	// that does not dominate the target level: a likely MLS/MCS
	// constraint denial, which no allow rule fixes.
	MCS            bool
	SLevel, TLevel string // the levels of the first such record
	Count          int    // records merged into the rule
	Permissive     int    // of which logged in permissive mode
	First          Stamp  // the earliest record
	Comm, Path     string // of the first record
	Fact           *Fact  // what the policy says, with --policy
	Role           string // source role of the first record
}

// Stamp identifies an audit record.
type Stamp struct {
	Time   time.Time
	Serial uint64
	Line   int
}

func (s Stamp) String() string {
	if s.Time.IsZero() {
		return fmt.Sprintf("line %d", s.Line)
	}
	return fmt.Sprintf("audit(%d.%03d:%d)", s.Time.Unix(), s.Time.Nanosecond()/1e6, s.Serial)
}

type key struct {
	src, tgt, class string
	mcs             bool
}

type acc struct {
	Rule
	perms []string // unsorted, unique; rules hold a handful
	ioctl map[uint16]struct{}
}

// Set accumulates records into rules.
type Set struct {
	Filter Filter
	rules  map[key]*acc
	dom    map[[2]string]bool // level pair -> source dominates target
	// Counts of what was read.
	Denials, Granted, Skipped int
}

// NewSet returns an empty set with filter f.
func NewSet(f Filter) *Set {
	return &Set{Filter: f, rules: map[key]*acc{}, dom: map[[2]string]bool{}}
}

// Add merges one record. Granted records (auditallow logs) are counted but
// make no rule: the access was allowed.
func (s *Set) Add(r *avc.Record) {
	f := &s.Filter
	if f.Type != nil && !f.Type.MatchString(r.Source.Type) && !f.Type.MatchString(r.Target.Type) ||
		f.Level != "" && r.Source.Level != f.Level ||
		!f.Since.IsZero() && (r.Time.IsZero() || r.Time.Before(f.Since)) ||
		!f.Until.IsZero() && (r.Time.IsZero() || r.Time.After(f.Until)) {
		s.Skipped++
		return
	}
	if r.Granted {
		s.Granted++
		return
	}
	s.Denials++
	tgt := r.Target.Type
	if tgt == r.Source.Type {
		tgt = "self"
	}
	// Process transitions to a container's level come from engines the
	// policy lets set categories (mcssetcats), so a level mismatch there is
	// no hint of an MCS denial; on objects (files, sockets) it is.
	mcs := r.Class != "process" && r.Class != "process2" && !s.dominates(r.Source.Level, r.Target.Level)
	k := key{r.Source.Type, tgt, r.Class, mcs}
	a := s.rules[k]
	if a == nil {
		a = &acc{Rule: Rule{
			Source: k.src, Target: k.tgt, Class: k.class, MCS: k.mcs,
			First: Stamp{r.Time, r.Serial, r.Line}, Comm: r.Comm, Path: r.Path, Role: r.Source.Role,
		}}
		if k.mcs {
			a.SLevel, a.TLevel = r.Source.Level, r.Target.Level
		}
		s.rules[k] = a
	}
	for _, p := range r.Perms {
		if !contains(a.perms, p) {
			a.perms = append(a.perms, p)
		}
	}
	for _, c := range r.Ioctl {
		if a.ioctl == nil {
			a.ioctl = map[uint16]struct{}{}
		}
		a.ioctl[c] = struct{}{}
	}
	a.Count++
	if r.Permissive == 1 {
		a.Permissive++
	}
}

// dominates reports whether the source level may access the target level
// under the MCS/MLS constraints (the source's high level dominates the
// target's). Unparseable or absent levels are given the benefit of doubt.
func (s *Set) dominates(sl, tl string) bool {
	if sl == "" || tl == "" || sl == tl {
		return true
	}
	// Fast path for the common case of an uncategorised target at the
	// source's (low) sensitivity: "s0:c1,c2" or "s0-s0:c0.c1023" over "s0".
	if strings.IndexByte(tl, ':') < 0 && strings.IndexByte(tl, '-') < 0 && strings.HasPrefix(sl, tl) &&
		len(sl) > len(tl) && (sl[len(tl)] == ':' || sl[len(tl)] == '-') && strings.IndexByte(sl, '-') < 0 {
		return true
	}
	k := [2]string{sl, tl}
	if d, ok := s.dom[k]; ok {
		return d
	}
	d := true
	sr, err1 := mls.ParseRange(sl)
	tr, err2 := mls.ParseRange(tl)
	if err1 == nil && err2 == nil {
		d = sr.High.Dominates(tr.High)
	}
	s.dom[k] = d
	return d
}

// Rules returns the merged rules sorted by source, target, class. A
// permission denied both with and without a level conflict goes to the
// plain rule only: the plain rule already covers it.
func (s *Set) Rules() []Rule {
	out := make([]Rule, 0, len(s.rules))
	for k, a := range s.rules {
		r := a.Rule
		var plain []string
		if k.mcs {
			if p := s.rules[key{k.src, k.tgt, k.class, false}]; p != nil {
				plain = p.perms
			}
		}
		r.Perms = make([]string, 0, len(a.perms))
		for _, p := range a.perms {
			if !contains(plain, p) {
				r.Perms = append(r.Perms, p)
			}
		}
		if len(r.Perms) == 0 {
			continue
		}
		sort.Strings(r.Perms)
		for c := range a.ioctl {
			r.Ioctl = append(r.Ioctl, c)
		}
		sort.Slice(r.Ioctl, func(i, j int) bool { return r.Ioctl[i] < r.Ioctl[j] })
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return less(&out[i], &out[j]) })
	return out
}

func less(a, b *Rule) bool {
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Target != b.Target {
		return a.Target < b.Target
	}
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	return !a.MCS && b.MCS
}

// permString renders "p" or "{ p q }".
func permString(perms []string) string {
	if len(perms) == 1 {
		return perms[0]
	}
	return "{ " + strings.Join(perms, " ") + " }"
}

// ioctlString renders ioctl numbers with runs collapsed: "0x8933" or
// "{ 0x8910-0x8912 0x8933 }".
func ioctlString(cmds []uint16) string {
	var parts []string
	for i := 0; i < len(cmds); {
		j := i
		for j+1 < len(cmds) && cmds[j+1] == cmds[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("0x%x-0x%x", cmds[i], cmds[j]))
		} else {
			parts = append(parts, fmt.Sprintf("0x%x", cmds[i]))
		}
		i = j + 1
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "{ " + strings.Join(parts, " ") + " }"
}
