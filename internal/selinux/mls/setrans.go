package mls

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Translator holds one setrans.conf: raw levels/ranges and their names.
//
// It follows mcstrans's table semantics: lines are "raw=name"; when a raw
// value has several names the first listed is canonical (raw->name), and
// when a name is listed twice its first raw value wins; a range that is not
// in the table is translated end by end and joined with "-".
//
// mcstrans's computed translations (Base, ModifierGroup, Prefix, Suffix,
// Join, Whitespace, Default and constraint lines) are parsed for syntax but
// not evaluated: names they would build are reported as unknown, naming the
// feature, instead of being guessed.
type Translator struct {
	path     string
	disabled bool
	domains  []*domain
	computed string // first computed-translation keyword seen, "" if none
	inGroup  bool   // inside a ModifierGroup: lines are words, not levels
}

type domain struct {
	name   string
	toName map[Range]string
	toRaw  map[string]Range
}

// ErrUnknown is wrapped by ToRaw errors for names not in the table.
var ErrUnknown = errors.New("unknown MLS level name")

// Load reads path and the files it includes.
func Load(path string) (*Translator, error) {
	t := &Translator{path: path}
	if err := t.readFile(path, 0); err != nil {
		return nil, err
	}
	return t, nil
}

// Parse reads a setrans.conf from r; name is used in error messages and to
// resolve relative Include paths.
func Parse(r io.Reader, name string) (*Translator, error) {
	t := &Translator{path: name}
	if err := t.read(r, name, 0); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Translator) readFile(path string, depth int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.read(f, path, depth)
}

// maxDepth stops Include loops.
const maxDepth = 8

func (t *Translator) read(r io.Reader, name string, depth int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := t.line(sc.Text(), name, depth); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// cur returns the domain new entries go to, creating "Default" as mcstrans
// does for files without a Domain line.
func (t *Translator) cur() *domain {
	if len(t.domains) == 0 {
		t.newDomain("Default")
	}
	return t.domains[len(t.domains)-1]
}

func (t *Translator) newDomain(name string) {
	t.domains = append(t.domains, &domain{name: name, toName: map[Range]string{}, toRaw: map[string]Range{}})
}

func (t *Translator) line(s, file string, depth int) error {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, " \t\r\n")
	if s == "" {
		return nil
	}
	i := strings.IndexAny(s, "=!>")
	if i < 0 {
		return fmt.Errorf("invalid line %q: expected raw=name", s)
	}
	op := s[i]
	key := strings.Trim(s[:i], " \t")
	val := strings.Trim(s[i+1:], " \t")
	if key == "" || val == "" {
		return fmt.Errorf("invalid line %q: empty side of %q", s, op)
	}
	if op != '=' {
		// Constraints (c0!c1, c5.c9>c1, s1!c5,c9) only restrict computed
		// translations; check their syntax so typos still surface.
		if _, err := ParseLevel("s0:" + val); err != nil {
			return fmt.Errorf("constraint %q: %w", s, err)
		}
		if key[0] == 's' {
			if _, err := ParseLevel(key); err != nil {
				return fmt.Errorf("constraint %q: %w", s, err)
			}
		} else if _, err := ParseLevel("s0:" + key); err != nil {
			return fmt.Errorf("constraint %q: %w", s, err)
		}
		return nil
	}
	switch key {
	case "disable":
		t.disabled = val == "1"
		return nil
	case "Domain":
		t.newDomain(val)
		t.inGroup = false
		return nil
	case "Include":
		return t.include(val, file, depth)
	case "Base":
		t.computedUse(key)
		return nil
	case "ModifierGroup":
		t.computedUse(key)
		t.inGroup = true
		return nil
	case "Whitespace", "Join", "Prefix", "Suffix", "Default":
		if !t.inGroup {
			return fmt.Errorf("%s needs a ModifierGroup declaration before it", key)
		}
		return nil
	}
	if t.inGroup {
		// Inside a ModifierGroup the left side is a category word, not a
		// level; mcstrans builds names from these, which brig does not.
		if _, err := ParseLevel("s0:" + strings.ReplaceAll(key, "~", "")); err != nil {
			return fmt.Errorf("modifier %q: %w", key, err)
		}
		return nil
	}
	r, err := ParseRange(key)
	if err != nil {
		return err
	}
	d := t.cur()
	if _, dup := d.toName[r]; !dup {
		d.toName[r] = val
	}
	if _, dup := d.toRaw[val]; !dup {
		d.toRaw[val] = r
	}
	return nil
}

// computedUse remembers the first computed-translation keyword, for error
// messages about names the table does not list.
func (t *Translator) computedUse(k string) {
	if t.computed == "" {
		t.computed = k
	}
}

func (t *Translator) include(pattern, file string, depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("include %q: nested more than %d deep", pattern, maxDepth)
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(file), pattern)
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("include %q: %w", pattern, err)
	}
	for _, p := range paths {
		if err := t.readFile(p, depth+1); err != nil {
			return fmt.Errorf("include: %w", err)
		}
	}
	return nil
}

// Path is the file the table came from.
func (t *Translator) Path() string { return t.path }

// ToRaw turns a name, a name range ("SystemLow-TopSecret"), a raw level or
// a raw range into canonical raw form. Unknown names are an error.
func (t *Translator) ToRaw(s string) (string, error) {
	r, err := t.toRaw(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

func (t *Translator) toRaw(s string) (Range, error) {
	if s == "" {
		return Range{}, errors.New("empty MLS level")
	}
	if r, err := ParseRange(s); err == nil {
		return r, nil
	} else if looksRaw(s) {
		return Range{}, err
	}
	if t.disabled {
		return Range{}, fmt.Errorf("%w %q: translation is disabled in %s", ErrUnknown, s, t.path)
	}
	if r, ok := t.lookupName(s); ok {
		return r, nil
	}
	// Not a whole entry: try each "-" as the split between two ends, as
	// mcstrans does for ranges, so names may themselves hold dashes.
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			continue
		}
		lo, errL := t.level(s[:i])
		hi, errH := t.level(s[i+1:])
		if errL != nil || errH != nil {
			continue
		}
		if !hi.Dominates(lo) {
			return Range{}, fmt.Errorf("range %q: %s (%s) does not dominate %s (%s)", s, s[i+1:], hi, s[:i], lo)
		}
		return Range{lo, hi}, nil
	}
	return Range{}, t.unknown(s)
}

// level resolves one end of a range: a raw level or a name whose entry is a
// single level.
func (t *Translator) level(s string) (Level, error) {
	if l, err := ParseLevel(s); err == nil {
		return l, nil
	}
	if r, ok := t.lookupName(s); ok && r.Low == r.High {
		return r.Low, nil
	}
	return Level{}, t.unknown(s)
}

func (t *Translator) lookupName(s string) (Range, bool) {
	for _, d := range t.domains {
		if r, ok := d.toRaw[s]; ok {
			return r, true
		}
	}
	return Range{}, false
}

func (t *Translator) unknown(s string) error {
	hint := ""
	if t.computed != "" {
		hint = fmt.Sprintf(" (the file uses mcstrans %s translations, which brig does not compute; add a raw=name line)", t.computed)
	}
	return fmt.Errorf("%w %q: not in %s%s", ErrUnknown, s, t.path, hint)
}

// looksRaw is true for strings that can only be meant as raw levels, so a
// malformed one ("s0:c2.c1") reports the level error, not "unknown name".
func looksRaw(s string) bool {
	if len(s) < 2 || s[0] != 's' || s[1] < '0' || s[1] > '9' {
		return false
	}
	return strings.Trim(s, "sc0123456789:,.-") == ""
}

// ToName turns a raw level or range into its name. A value without a table
// entry is translated end by end; a level with no name stays raw, as with
// mcstrans. Malformed raw input is an error.
func (t *Translator) ToName(s string) (string, error) {
	r, err := ParseRange(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	if t.disabled {
		return r.String(), nil
	}
	if n, ok := t.lookupRaw(r); ok {
		return n, nil
	}
	if r.Low == r.High {
		return r.Low.String(), nil
	}
	lo := t.levelName(r.Low)
	hi := t.levelName(r.High)
	if lo == hi {
		return lo, nil
	}
	return lo + "-" + hi, nil
}

func (t *Translator) levelName(l Level) string {
	if n, ok := t.lookupRaw(Range{l, l}); ok {
		return n
	}
	return l.String()
}

func (t *Translator) lookupRaw(r Range) (string, bool) {
	for _, d := range t.domains {
		if n, ok := d.toName[r]; ok {
			return n, true
		}
	}
	return "", false
}
