package units

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "1k": 1024, "1K": 1024, "512m": 512 << 20, "512MB": 512 << 20, "10mb": 10 << 20,
		"2G": 2 << 30, "2GiB": 2 << 30, "1.5g": 3 << 29, " 7 ": 7, "1t": 1 << 40,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "m", "-1", "-1m", "1x", "1e9", "1e400", "0x10", "+5", "1mm", "NaN", "Inf", "99999999p"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, got)
		}
	}
}
