package cgroup

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRuleString(t *testing.T) {
	maj, min := int64(1), int64(3)
	cases := []struct {
		r    specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Access: "rwm"}, "a *:* rwm"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: &maj, Minor: &min, Access: "rw"}, "c 1:3 rw"},
		{specs.LinuxDeviceCgroup{Type: "b", Major: &maj}, "b 1:* rwm"},
	}
	for _, c := range cases {
		got, err := ruleString(c.r)
		if err != nil || got != c.want {
			t.Errorf("ruleString(%+v) = %q, %v; want %q", c.r, got, err, c.want)
		}
	}
	if _, err := ruleString(specs.LinuxDeviceCgroup{Type: "x"}); err == nil {
		t.Error("type x accepted")
	}
	if _, err := ruleString(specs.LinuxDeviceCgroup{Access: "rwx"}); err == nil {
		t.Error("access x accepted")
	}
}

func TestNewRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "relative", "/a/../b", "/"} {
		if _, err := New(p); err == nil {
			t.Errorf("New(%q) accepted", p)
		}
	}
}
