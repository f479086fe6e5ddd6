package caps

import (
	"reflect"
	"testing"
)

func TestParseSpellings(t *testing.T) {
	for _, s := range []string{"SYS_TIME", "sys_time", "CAP_SYS_TIME", "cap_Sys_Time", " sys_time "} {
		c, err := Parse(s)
		if err != nil || c != 25 {
			t.Errorf("Parse(%q) = %v, %v; want 25", s, c, err)
		}
	}
	if _, err := Parse("SYS_TIMEX"); err == nil || !contains(err.Error(), "SYS_TIMEX") {
		t.Errorf("unknown name error must name it, got %v", err)
	}
}

func TestDockerDefaultMask(t *testing.T) {
	s, err := FromNames(DockerDefault)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hex() != "00000000a80425fb" || s.Count() != 14 {
		t.Fatalf("default mask = %s (%d caps), want 00000000a80425fb", s.Hex(), s.Count())
	}
}

// The article's cases, with the masks runc produced (shared/fixtures/podman-specs).
func TestTweakArticleCases(t *testing.T) {
	cases := []struct {
		add, drop []string
		mask      string
	}{
		{nil, nil, "00000000a80425fb"},
		{[]string{"SYS_TIME"}, nil, "00000000aa0425fb"},
		{nil, []string{"SETUID", "setgid", "cap_fowner"}, "00000000a8042533"},
		{[]string{"sys_time"}, []string{"ALL"}, "0000000002000000"},
		{[]string{"ALL"}, []string{"CHOWN"}, Full().Hex()},
	}
	for _, c := range cases {
		got, err := Tweak(DockerDefault, c.add, c.drop)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := FromNames(got)
		if s.Hex() != c.mask {
			t.Errorf("add %v drop %v: %s, want %s", c.add, c.drop, s.Hex(), c.mask)
		}
	}
	if _, err := Tweak(DockerDefault, []string{"NOPE"}, nil); err == nil {
		t.Error("unknown add accepted")
	}
	if _, err := Tweak(DockerDefault, nil, []string{"NOPE"}); err == nil {
		t.Error("unknown drop accepted")
	}
}

func TestDiffAndHex(t *testing.T) {
	base, _ := FromNames(DockerDefault)
	got, _ := Tweak(DockerDefault, []string{"SYS_TIME"}, []string{"SETUID"})
	s, _ := FromNames(got)
	if d := Diff(base, s); d != "+sys_time, -setuid" {
		t.Errorf("Diff = %q", d)
	}
	h, err := ParseHex("0xa80425fb")
	if err != nil || h != base {
		t.Errorf("ParseHex = %v, %v", h, err)
	}
	if !reflect.DeepEqual(Set(0x3).Names(), []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE"}) {
		t.Error("Names order")
	}
	if Cap(40).Short() != "checkpoint_restore" || Cap(41).Name() != "cap_41" {
		t.Error("names past the table")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
