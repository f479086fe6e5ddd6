// Package units reads the sizes people and engines write for memory and
// filesystems, as docker and runc do.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes reads a size: a number of bytes, or one with a binary unit
// (k, m, g, t, p, each 1024 times the last), optionally followed by "b"
// or "ib", in any case: 1024, 512k, 64m, 1.5g, 2GiB. Signs, exponents and
// hexadecimal are refused.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgtp", t[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || t == "" || strings.ContainsAny(t, "ex+-in") {
		return 0, fmt.Errorf("%q is not a size (use e.g. 512m or 2g)", s)
	}
	v := f * float64(mult)
	if v >= 1<<63 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}
