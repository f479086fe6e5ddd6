//go:build linux

package export

import (
	"testing"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The exported file must load as Docker's loader reads it.
func TestSeccompLoadsWithMoby(t *testing.T) {
	b, _, err := SeccompJSON(sample(t), SeccompOptions{BlockMPTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := seccomp.LoadProfile(string(b), &specs.Spec{Process: &specs.Process{}})
	if err != nil {
		t.Fatalf("moby rejects the export: %v\n%s", err, b)
	}
	if sc.DefaultAction != specs.ActErrno || len(sc.Syscalls) != 3 {
		t.Errorf("loaded profile: default %s, %d rules", sc.DefaultAction, len(sc.Syscalls))
	}
}
