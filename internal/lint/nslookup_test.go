package lint

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNamespaceLookup(t *testing.T) {
	root := t.TempDir()
	write := func(pid, eff, bnd, seccomp string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		st := "Name:\tx" + pid + "\nPPid:\t0\nUid:\t0\t0\t0\t0\nCapInh:\t0\nCapPrm:\t" + eff + "\nCapEff:\t" + eff +
			"\nCapBnd:\t" + bnd + "\nCapAmb:\t0\nSeccomp:\t" + seccomp + "\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1", "1fffeffffff", "1fffeffffff", "0")
	write("4242", "1fffeffffff", "1fffeffffff", "0") // what --privileged leaves
	write("5151", "a80425fb", "a80425fb", "2")       // Docker defaults
	write("6161", "1fffeffffff", "1fffeffffff", "2") // all caps but filtered
	look := NamespaceLookup(root)
	for ref, priv := range map[string]bool{"/proc/4242/ns/net": true, "/proc/5151/ns/pid": false, "/proc/6161/ns/ipc": false} {
		c, ok := look(ref)
		if !ok || c.Privileged != priv {
			t.Errorf("%s: %+v %v, want privileged=%v", ref, c, ok, priv)
		}
	}
	for _, ref := range []string{"/proc/999/ns/net", "web", "/proc/self/ns/net", "/proc/4242/ns/../x"} {
		if _, ok := look(ref); ok {
			t.Errorf("%s resolved", ref)
		}
	}

	// Wired into the linter: an OCI config joining pid 4242's network.
	cs := build(t, KindOCI, `{"linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/proc/4242/ns/net"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}`)
	fs := (&Linter{SELinuxEnabled: func() bool { return false }, Lookup: look}).Check(cs)
	if len(fs) != 1 || fs[0].Rule != "BRIG016" {
		t.Fatalf("%s", dump(fs))
	}
}
