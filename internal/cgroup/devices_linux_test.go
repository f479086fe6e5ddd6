package cgroup

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

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
