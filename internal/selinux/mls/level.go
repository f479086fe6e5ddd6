// Package mls parses MLS/MCS levels and ranges (s0:c1,c2, s0-s15:c0.c1023)
// and translates them to and from the human names of a setrans.conf, the
// table mcstransd serves on SELinux systems. brig reads the table itself so
// `--security-opt label=level:TopSecret` works even where mcstransd is not
// running (it cannot start with SELinux disabled).
package mls

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxCats bounds category numbers; policies ship 1024 (c0..c1023) and
// mcstrans refuses anything past its MAX_CATS of the same size.
const MaxCats = 1024

// Level is one sensitivity with its category set.
type Level struct {
	Sens int
	Cats [MaxCats / 64]uint64
}

// Range is a low-high pair; a single level has Low == High.
type Range struct {
	Low, High Level
}

// ParseLevel reads "sN" or "sN:cats" where cats is a comma list of cN or
// cN.cM runs, as the kernel and libsepol accept them.
func ParseLevel(s string) (Level, error) {
	var l Level
	sens, cats, hasCats := strings.Cut(s, ":")
	n, err := num(sens, 's')
	if err != nil {
		return l, fmt.Errorf("level %q: %w", s, err)
	}
	l.Sens = n
	if !hasCats {
		return l, nil
	}
	if cats == "" {
		return l, fmt.Errorf("level %q: empty category list", s)
	}
	for _, part := range strings.Split(cats, ",") {
		lo, hi, isRun := strings.Cut(part, ".")
		a, err := num(lo, 'c')
		if err != nil {
			return l, fmt.Errorf("level %q: %w", s, err)
		}
		b := a
		if isRun {
			if b, err = num(hi, 'c'); err != nil {
				return l, fmt.Errorf("level %q: %w", s, err)
			}
			if b < a {
				return l, fmt.Errorf("level %q: category run %s is backwards", s, part)
			}
		}
		if b >= MaxCats {
			return l, fmt.Errorf("level %q: category c%d is past c%d", s, b, MaxCats-1)
		}
		for c := a; c <= b; c++ {
			l.Cats[c/64] |= 1 << uint(c%64)
		}
	}
	return l, nil
}

// num parses "<prefix><decimal>" with no sign, spaces or leading zeros
// beyond a lone 0, so "s01" or "c 1" are rejected rather than guessed at.
func num(s string, prefix byte) (int, error) {
	if len(s) < 2 || s[0] != prefix {
		return 0, fmt.Errorf("%q is not %c<number>", s, prefix)
	}
	d := s[1:]
	if len(d) > 1 && d[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.Atoi(d)
	if err != nil || n < 0 || strings.ContainsAny(d, "+-") || n > 1<<20 {
		return 0, fmt.Errorf("%q is not %c<number>", s, prefix)
	}
	return n, nil
}

// ParseRange reads "low" or "low-high" and checks that high dominates low,
// which the kernel requires of every range.
func ParseRange(s string) (Range, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := ParseLevel(lo)
	if err != nil {
		return Range{}, err
	}
	if !isRange {
		return Range{l, l}, nil
	}
	h, err := ParseLevel(hi)
	if err != nil {
		return Range{}, err
	}
	if !h.Dominates(l) {
		return Range{}, fmt.Errorf("range %q: high level %s does not dominate low level %s", s, h, l)
	}
	return Range{l, h}, nil
}

// Dominates reports l >= o: a sensitivity at least as high and a category
// superset.
func (l Level) Dominates(o Level) bool {
	if l.Sens < o.Sens {
		return false
	}
	for i := range l.Cats {
		if o.Cats[i]&^l.Cats[i] != 0 {
			return false
		}
	}
	return true
}

// NumCats counts the categories.
func (l Level) NumCats() int {
	n := 0
	for _, w := range l.Cats {
		n += bits.OnesCount64(w)
	}
	return n
}

func (l Level) has(c int) bool { return l.Cats[c/64]&(1<<uint(c%64)) != 0 }

// String renders the level the way libsepol and mcstrans do: runs of three
// or more categories as cA.cB, pairs as cA,cB.
func (l Level) String() string {
	var b strings.Builder
	b.WriteString("s")
	b.WriteString(strconv.Itoa(l.Sens))
	sep := byte(':')
	for c := 0; c < MaxCats; c++ {
		if !l.has(c) {
			continue
		}
		end := c
		for end+1 < MaxCats && l.has(end+1) {
			end++
		}
		b.WriteByte(sep)
		sep = ','
		b.WriteString("c" + strconv.Itoa(c))
		switch {
		case end-c >= 2:
			b.WriteString(".c" + strconv.Itoa(end))
		case end-c == 1:
			b.WriteString(",c" + strconv.Itoa(end))
		}
		c = end
	}
	return b.String()
}

// String renders "low" when both ends are equal, else "low-high".
func (r Range) String() string {
	if r.Low == r.High {
		return r.Low.String()
	}
	return r.Low.String() + "-" + r.High.String()
}
