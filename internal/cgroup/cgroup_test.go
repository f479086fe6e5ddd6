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

// The device program: every jump lands inside the program, it ends in
// exit, and the default allows come before (win over) a leading deny-all.
func TestDeviceProgramShape(t *testing.T) {
	prog, err := deviceProgram(append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, DefaultAllows...))
	if err != nil {
		t.Fatal(err)
	}
	if last := prog[len(prog)-1]; last.code != exitOp {
		t.Fatal("program does not end in exit")
	}
	for i, in := range prog {
		if in.code == jneK && (i+1+int(in.off) > len(prog)-1 || in.off < 0) {
			t.Fatalf("jump at %d out of range", i)
		}
	}
	if _, err := deviceProgram([]specs.LinuxDeviceCgroup{{Type: "z"}}); err == nil {
		t.Error("type z accepted")
	}
}

func TestNewRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "relative", "/a/../b", "/"} {
		if _, err := New(p); err == nil {
			t.Errorf("New(%q) accepted", p)
		}
	}
}
