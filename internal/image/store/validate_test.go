package store

import (
	"regexp"
	"strings"
	"testing"
)

// checkContainerID must accept exactly what the pattern it replaces did.
func TestCheckContainerIDMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	cases := []string{"", "a", "A9", "_a", "a_", ".x", "x.y-z_1", "-a", "a b", "a/b", "é",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "a\x00", "0" + strings.Repeat("-", 127)}
	for _, c := range cases {
		if got, want := checkContainerID(c) == nil, re.MatchString(c); got != want {
			t.Errorf("checkContainerID(%q) ok=%v, the pattern says %v", c, got, want)
		}
	}
}

func FuzzCheckContainerID(f *testing.F) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	f.Add("abc")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := checkContainerID(s) == nil, re.MatchString(s); got != want {
			t.Errorf("checkContainerID(%q) ok=%v, the pattern says %v", s, got, want)
		}
	})
}

func TestIsHexMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{1,64}$`)
	for _, c := range []string{"", "0", "abc", "ABC", "g", "0123456789abcdef", strings.Repeat("f", 64), strings.Repeat("f", 65), "12 3", "é"} {
		if got, want := isHex(c), re.MatchString(c); got != want {
			t.Errorf("isHex(%q) = %v, the pattern says %v", c, got, want)
		}
	}
}
